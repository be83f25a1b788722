// AllocateProducerIds (key 67), on the controller listener: a broker asks
// the active controller for a block of producer ids, which it reserves with
// a ProducerIdsRecord (metadata::allocate_producer_ids checks the broker's
// registration and epoch, as Kafka's ProducerIdControlManager does).
#include "samsa/broker/broker_services.h"
#include "samsa/broker/controller_service.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/metadata/controller.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/allocate_producer_ids_request.h"
#include "samsa/protocol/gen/allocate_producer_ids_response.h"

namespace samsa::broker {

using protocol::AllocateProducerIdsRequest;
using protocol::AllocateProducerIdsResponse;
using protocol::ErrorCode;

void handle_allocate_producer_ids(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<AllocateProducerIdsRequest>(body, ctx.api_version);
  AllocateProducerIdsResponse response;
  ControllerService* controller = ctx.services->controller;
  if (controller == nullptr || !controller->active()) {
    response.error_code = protocol::code(ErrorCode::NOT_CONTROLLER);
    return responder.send(response);
  }
  metadata::AllocateProducerIdsResult allocated;
  auto committed = controller->commit([&](const MetadataImage& image) {
    allocated = metadata::allocate_producer_ids(image, request.broker_id, request.broker_epoch);
    return allocated.records;
  });
  if (auto* error = std::get_if<ControllerError>(&committed)) {
    response.error_code = protocol::code(to_api_error(*error).code);
  } else if (!allocated.error.ok()) {
    response.error_code = protocol::code(allocated.error.code);
  } else {
    response.producer_id_start = allocated.block.first_id;
    response.producer_id_len = allocated.block.size;
  }
  responder.send(response);
}

}  // namespace samsa::broker
