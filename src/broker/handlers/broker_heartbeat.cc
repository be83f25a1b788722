// BrokerHeartbeat (key 63, controller listener): keeps a broker's session
// alive and moves it between fenced, unfenced and controlled shutdown
// (BrokerLifecycleService). A transition commits records, so the work runs
// on the controller thread.
#include "samsa/broker/broker_lifecycle_service.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/controller_thread.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/broker_heartbeat_request.h"
#include "samsa/protocol/gen/broker_heartbeat_response.h"

namespace samsa::broker {

using protocol::BrokerHeartbeatRequest;
using protocol::BrokerHeartbeatResponse;
using protocol::ErrorCode;

namespace {

void answer(const RequestContext& ctx, const BrokerHeartbeatRequest& request, Responder responder) {
  BrokerHeartbeatResponse response;  // defaults: fenced, not caught up
  BrokerLifecycleService* lifecycle = ctx.services->broker_lifecycle;
  if (lifecycle == nullptr) {
    response.error_code = protocol::code(ErrorCode::NOT_CONTROLLER);
    return responder.send(response);
  }
  metadata::BrokerHeartbeatInput in;
  in.broker_id = request.broker_id;
  in.broker_epoch = request.broker_epoch;
  in.current_metadata_offset = request.current_metadata_offset;
  in.want_fence = request.want_fence;
  in.want_shut_down = request.want_shut_down;
  auto result = lifecycle->heartbeat(in);
  response.error_code = protocol::code(result.error.code);
  if (result.error.ok()) {
    response.is_caught_up = result.is_caught_up;
    response.is_fenced = result.is_fenced;
    response.should_shut_down = result.should_shut_down;
  }
  responder.send(response);
}

}  // namespace

void handle_broker_heartbeat(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<BrokerHeartbeatRequest>(body, ctx.api_version);
  run_on_controller_thread(ctx, std::move(responder),
                           [request = std::move(request)](const RequestContext& c, Responder r) {
                             answer(c, request, std::move(r));
                           });
}

}  // namespace samsa::broker
