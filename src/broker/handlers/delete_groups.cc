// DeleteGroups (key 42): removes empty groups with their committed offsets.
#include "samsa/broker/group/group_handlers_support.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/delete_groups_request.h"
#include "samsa/protocol/gen/delete_groups_response.h"

namespace samsa::broker {

void handle_delete_groups(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<protocol::DeleteGroupsRequest>(body, ctx.api_version);
  protocol::DeleteGroupsResponse response;
  auto* groups = group::coordinator(ctx);
  for (const auto& id : request.groups_names) {
    auto& out = response.results.emplace_back();
    out.group_id = id;
    auto e = groups ? groups->delete_group(id) : protocol::ErrorCode::COORDINATOR_NOT_AVAILABLE;
    out.error_code = protocol::code(e);
  }
  responder.send(response);
}

}  // namespace samsa::broker
