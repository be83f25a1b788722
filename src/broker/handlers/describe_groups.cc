// DescribeGroups (key 15): state, protocol and members of each group; the
// members' metadata and assignments only once the group is Stable.
#include "samsa/broker/authorized_operations.h"
#include "samsa/broker/group/group_handlers_support.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/describe_groups_request.h"
#include "samsa/protocol/gen/describe_groups_response.h"

namespace samsa::broker {

void handle_describe_groups(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<protocol::DescribeGroupsRequest>(body, ctx.api_version);
  protocol::DescribeGroupsResponse response;
  auto* groups = group::coordinator(ctx);
  for (const auto& id : request.groups) {
    auto& out = response.groups.emplace_back();
    out.group_id = id;
    group::GroupDescription d;
    if (groups) d = groups->describe(id);
    else d.error = protocol::ErrorCode::COORDINATOR_NOT_AVAILABLE;
    out.error_code = protocol::code(d.error);
    if (d.error == protocol::ErrorCode::NONE) {
      out.group_state = d.state;
      out.protocol_type = d.protocol_type;
      out.protocol_data = d.protocol;
      for (auto& m : d.members) {
        auto& om = out.members.emplace_back();
        om.member_id = std::move(m.member_id);
        om.group_instance_id = std::move(m.group_instance_id);
        om.client_id = std::move(m.client_id);
        om.client_host = std::move(m.client_host);
        om.member_metadata = std::move(m.metadata);
        om.member_assignment = std::move(m.assignment);
      }
    }
    out.authorized_operations = request.include_authorized_operations ? kGroupOperations : kOperationsNotRequested;
  }
  responder.send(response);
}

}  // namespace samsa::broker
