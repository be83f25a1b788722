// Heartbeat (key 12): keeps a member's session alive and tells it when the
// group is rebalancing (REBALANCE_IN_PROGRESS).
#include "samsa/broker/group/group_handlers_support.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/heartbeat_request.h"
#include "samsa/protocol/gen/heartbeat_response.h"

namespace samsa::broker {

void handle_heartbeat(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<protocol::HeartbeatRequest>(body, ctx.api_version);
  protocol::HeartbeatResponse response;
  auto* groups = group::coordinator(ctx);
  auto error = groups ? groups->heartbeat(request.group_id, request.member_id, request.group_instance_id,
                                          request.generation_id)
                      : protocol::ErrorCode::COORDINATOR_NOT_AVAILABLE;
  response.error_code = protocol::code(error);
  responder.send(response);
}

}  // namespace samsa::broker
