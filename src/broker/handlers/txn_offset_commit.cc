// TxnOffsetCommit (key 28): a transactional producer commits a consumer
// group's offsets inside its transaction (sendOffsetsToTransaction, after
// AddOffsetsToTxn put the group's __consumer_offsets partition in the
// transaction). The offsets take effect with the transaction's COMMIT
// marker. v2+ carry the leader epoch; v3+ the member, generation and static
// instance id, checked when given. v5 comes from a transactions v2 client
// (KIP-890 part 2), which sends no AddOffsetsToTxn: the group coordinator's
// verification of the commit adds the group's partition to the transaction
// instead (the same coordinator request a partition leader makes for a
// Produce v12).
#include "samsa/broker/group/group_handlers_support.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/txn_offset_commit_request.h"
#include "samsa/protocol/gen/txn_offset_commit_response.h"

namespace samsa::broker {

using protocol::TxnOffsetCommitRequest;
using protocol::TxnOffsetCommitResponse;

void handle_txn_offset_commit(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<TxnOffsetCommitRequest>(body, ctx.api_version);
  group::TxnCommitRequest tr;
  tr.transactional_id = request.transactional_id;
  tr.group_id = request.group_id;
  tr.producer_id = request.producer_id;
  tr.producer_epoch = request.producer_epoch;
  tr.add_partition = ctx.api_version >= 5;
  if (ctx.api_version >= 3) {
    tr.generation_id = request.generation_id;
    tr.member_id = request.member_id;
    tr.group_instance_id = request.group_instance_id;
  }
  for (const auto& t : request.topics)
    for (const auto& p : t.partitions)
      tr.partitions.push_back({t.name, p.partition_index, p.committed_offset,
                               ctx.api_version >= 2 ? p.committed_leader_epoch : -1, p.committed_metadata});

  // Answered once the write is replicated (or failed), on whichever thread
  // completes it.
  auto answer = [request = std::move(request), responder](std::vector<protocol::ErrorCode> errors) mutable {
    TxnOffsetCommitResponse response;
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
    return answer(
        std::vector<protocol::ErrorCode>(tr.partitions.size(), protocol::ErrorCode::COORDINATOR_NOT_AVAILABLE));
  groups->commit_txn_offsets(std::move(tr), std::move(answer));
}

}  // namespace samsa::broker
