// JoinGroup (key 11): a member joins a classic group and waits (the reply is
// parked) until the rebalance completes. v4+ new members first get a member
// id back with MEMBER_ID_REQUIRED; v5+ static members (group.instance.id).
#include "samsa/broker/group/group_handlers_support.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/join_group_request.h"
#include "samsa/protocol/gen/join_group_response.h"

namespace samsa::broker {

using protocol::JoinGroupRequest;
using protocol::JoinGroupResponse;

namespace {

JoinGroupResponse to_response(group::JoinResult r, int16_t version) {
  JoinGroupResponse resp;
  resp.error_code = protocol::code(r.error);
  resp.generation_id = r.generation_id;
  resp.protocol_type = r.protocol_type;
  // Before v7 the protocol name is not nullable; from v7 an empty one is null.
  resp.protocol_name = r.protocol_name;
  if (version < 7 && !resp.protocol_name) resp.protocol_name = "";
  if (version >= 7 && resp.protocol_name && resp.protocol_name->empty()) resp.protocol_name.reset();
  resp.leader = r.leader;
  resp.member_id = r.member_id;
  // A rejoining static leader may skip the assignment only from v9; older
  // leaders get no member list (they then sync an empty assignment, and the
  // stable group keeps the current one).
  resp.skip_assignment = r.skip_assignment && version >= 9;
  if (!r.skip_assignment || version >= 9)
    for (auto& m : r.members) {
      auto& out = resp.members.emplace_back();
      out.member_id = std::move(m.member_id);
      out.group_instance_id = std::move(m.group_instance_id);
      out.metadata = std::move(m.metadata);
    }
  return resp;
}

}  // namespace

void handle_join_group(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<JoinGroupRequest>(body, ctx.api_version);
  group::JoinRequest jr;
  jr.group_id = std::move(request.group_id);
  jr.member_id = std::move(request.member_id);
  jr.group_instance_id = std::move(request.group_instance_id);
  jr.require_known_member_id = ctx.api_version >= 4;
  jr.client_id = ctx.client_id.value_or("");
  jr.client_host = group::client_host(ctx);
  jr.session_timeout_ms = request.session_timeout_ms;
  // v0 has no rebalance timeout: the session timeout serves as both.
  jr.rebalance_timeout_ms = ctx.api_version == 0 ? request.session_timeout_ms : request.rebalance_timeout_ms;
  jr.protocol_type = std::move(request.protocol_type);
  for (auto& p : request.protocols) jr.protocols.push_back({std::move(p.name), std::move(p.metadata)});

  auto* groups = group::coordinator(ctx);
  int16_t version = ctx.api_version;
  if (!groups) {
    group::JoinResult r;
    r.error = protocol::ErrorCode::COORDINATOR_NOT_AVAILABLE;
    r.member_id = jr.member_id;
    return responder.send(to_response(std::move(r), version));
  }
  groups->join(std::move(jr), [responder, version](group::JoinResult r) mutable {
    responder.send(to_response(std::move(r), version));
  });
}

}  // namespace samsa::broker
