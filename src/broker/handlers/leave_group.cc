// LeaveGroup (key 13): members leave without waiting for their session to
// expire. One member up to v2, a batch (with static members) from v3.
#include "samsa/broker/group/group_handlers_support.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/leave_group_request.h"
#include "samsa/protocol/gen/leave_group_response.h"

namespace samsa::broker {

void handle_leave_group(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<protocol::LeaveGroupRequest>(body, ctx.api_version);
  std::vector<group::LeavingMember> members;
  if (ctx.api_version < 3) {
    members.push_back({request.member_id, std::nullopt});
  } else {
    for (const auto& m : request.members) members.push_back({m.member_id, m.group_instance_id});
  }
  auto* groups = group::coordinator(ctx);
  group::LeaveResult result;
  if (groups) result = groups->leave(request.group_id, members);
  else result.error = protocol::ErrorCode::COORDINATOR_NOT_AVAILABLE;

  protocol::LeaveGroupResponse response;
  if (ctx.api_version < 3) {
    auto e = result.error != protocol::ErrorCode::NONE || result.members.empty() ? result.error : result.members[0];
    response.error_code = protocol::code(e);
  } else {
    response.error_code = protocol::code(result.error);
    if (result.error == protocol::ErrorCode::NONE)
      for (size_t i = 0; i < members.size(); ++i) {
        auto& out = response.members.emplace_back();
        out.member_id = members[i].member_id;
        out.group_instance_id = members[i].group_instance_id;
        out.error_code = protocol::code(result.members[i]);
      }
  }
  responder.send(response);
}

}  // namespace samsa::broker
