// AlterPartition (key 56, controller listener): a partition leader asks the
// active controller to change its ISR. The decision is
// metadata::alter_partition; the records commit on the controller thread
// before the answer, so a leader never hears of an ISR the quorum may lose.
#include "samsa/broker/broker_services.h"
#include "samsa/broker/controller_service.h"
#include "samsa/broker/controller_thread.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/metadata/alter_partition.h"
#include "samsa/protocol/error_code.h"

namespace samsa::broker {

using protocol::AlterPartitionRequest;
using protocol::AlterPartitionResponse;
using protocol::ErrorCode;

namespace {

void answer(const RequestContext& ctx, const AlterPartitionRequest& request, Responder responder) {
  AlterPartitionResponse response;
  ControllerService* controller = ctx.services->controller;
  if (controller == nullptr || !controller->active()) {
    response.error_code = protocol::code(ErrorCode::NOT_CONTROLLER);
    return responder.send(response);
  }
  metadata::AlterPartitionResult decided;
  const int16_t version = ctx.api_version;
  auto committed = controller->commit([&](const MetadataImage& image) {
    decided = metadata::alter_partition(image, request, version, controller->defaults());
    return decided.records;
  });
  if (auto* error = std::get_if<ControllerError>(&committed)) {
    response.error_code = protocol::code(to_api_error(*error).code);
    return responder.send(response);
  }
  responder.send(decided.response);
}

}  // namespace

void handle_alter_partition(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<AlterPartitionRequest>(body, ctx.api_version);
  run_on_controller_thread(ctx, std::move(responder),
                           [request = std::move(request)](const RequestContext& c, Responder r) {
                             answer(c, request, std::move(r));
                           });
}

}  // namespace samsa::broker
