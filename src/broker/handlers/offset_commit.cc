// OffsetCommit (key 8): a consumer stores its position. v0 commits without
// group membership; v1+ name the member and generation (checked, so a
// member fenced by a rebalance cannot commit); v2-4 carry a retention time;
// v6+ the leader epoch; v7+ the static member id.
#include "samsa/broker/group/group_handlers_support.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/offset_commit_request.h"
#include "samsa/protocol/gen/offset_commit_response.h"

namespace samsa::broker {

using protocol::OffsetCommitRequest;
using protocol::OffsetCommitResponse;

void handle_offset_commit(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<OffsetCommitRequest>(body, ctx.api_version);
  group::CommitRequest cr;
  cr.api_version = ctx.api_version;
  cr.group_id = request.group_id;
  cr.generation_id = ctx.api_version >= 1 ? request.generation_id_or_member_epoch : -1;
  cr.member_id = ctx.api_version >= 1 ? request.member_id : "";
  cr.group_instance_id = request.group_instance_id;
  cr.retention_ms = ctx.api_version >= 2 && ctx.api_version <= 4 ? request.retention_time_ms : -1;
  for (const auto& t : request.topics)
    for (const auto& p : t.partitions)
      cr.partitions.push_back({t.name, p.partition_index, p.committed_offset, p.committed_leader_epoch,
                               p.committed_metadata, ctx.api_version == 1 ? p.commit_timestamp : -1});

  // Answered once the commit is replicated (or failed), on whichever thread
  // completes it.
  auto answer = [request = std::move(request), responder](std::vector<protocol::ErrorCode> errors) mutable {
    OffsetCommitResponse response;
    size_t i = 0;
    for (const auto& t : request.topics) {
      auto& rt = response.topics.emplace_back();
      rt.name = t.name;
      for (const auto& p : t.partitions) {
        auto& rp = rt.partitions.emplace_back();
        rp.partition_index = p.partition_index;
        rp.error_code = protocol::code(errors[i++]);
      }
    }
    responder.send(response);
  };
  auto* groups = group::coordinator(ctx);
  if (!groups)
    return answer(std::vector<protocol::ErrorCode>(cr.partitions.size(), protocol::ErrorCode::COORDINATOR_NOT_AVAILABLE));
  groups->commit_offsets(std::move(cr), std::move(answer));
}

}  // namespace samsa::broker
