// SyncGroup (key 14): after a rebalance the leader sends everyone's
// assignment; every member waits (parked) for its own.
#include "samsa/broker/group/group_handlers_support.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/sync_group_request.h"
#include "samsa/protocol/gen/sync_group_response.h"

namespace samsa::broker {

using protocol::SyncGroupRequest;
using protocol::SyncGroupResponse;

namespace {

SyncGroupResponse to_response(group::SyncResult r) {
  SyncGroupResponse resp;
  resp.error_code = protocol::code(r.error);
  resp.protocol_type = std::move(r.protocol_type);
  resp.protocol_name = std::move(r.protocol_name);
  resp.assignment = std::move(r.assignment);
  return resp;
}

}  // namespace

void handle_sync_group(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<SyncGroupRequest>(body, ctx.api_version);
  group::SyncRequest sr;
  sr.group_id = std::move(request.group_id);
  sr.generation_id = request.generation_id;
  sr.member_id = std::move(request.member_id);
  sr.group_instance_id = std::move(request.group_instance_id);
  sr.protocol_type = std::move(request.protocol_type);
  sr.protocol_name = std::move(request.protocol_name);
  for (auto& a : request.assignments) sr.assignments.emplace_back(std::move(a.member_id), std::move(a.assignment));

  auto* groups = group::coordinator(ctx);
  if (!groups) {
    group::SyncResult r;
    r.error = protocol::ErrorCode::COORDINATOR_NOT_AVAILABLE;
    return responder.send(to_response(std::move(r)));
  }
  groups->sync(std::move(sr), [responder](group::SyncResult r) mutable { responder.send(to_response(std::move(r))); });
}

}  // namespace samsa::broker
