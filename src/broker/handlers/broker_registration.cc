// BrokerRegistration (key 62, controller listener): a broker announces a new
// incarnation to the active controller, which commits a RegisterBrokerRecord
// and answers with the broker epoch (BrokerLifecycleService). Committing
// waits for the quorum, so the work runs on the controller thread.
#include "samsa/broker/broker_lifecycle_service.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/controller_thread.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/broker_registration_request.h"
#include "samsa/protocol/gen/broker_registration_response.h"

namespace samsa::broker {

using protocol::BrokerRegistrationRequest;
using protocol::BrokerRegistrationResponse;
using protocol::ErrorCode;

namespace {

metadata::BrokerRegistrationInput to_input(const BrokerRegistrationRequest& request) {
  metadata::BrokerRegistrationInput in;
  in.broker_id = request.broker_id;
  in.cluster_id = request.cluster_id;
  in.incarnation_id = request.incarnation_id;
  for (const auto& l : request.listeners)
    in.listeners.push_back(
        BrokerEndpoint{l.name, l.host, l.port, metadata::security_protocol_name(l.security_protocol)});
  for (const auto& f : request.features)
    in.features.push_back({f.name, {f.min_supported_version, f.max_supported_version}});
  in.rack = request.rack;
  in.log_dirs = request.log_dirs;
  in.previous_broker_epoch = request.previous_broker_epoch;
  return in;
}

void answer(const RequestContext& ctx, const BrokerRegistrationRequest& request, Responder responder) {
  BrokerRegistrationResponse response;
  BrokerLifecycleService* lifecycle = ctx.services->broker_lifecycle;
  if (lifecycle == nullptr) {
    response.error_code = protocol::code(ErrorCode::NOT_CONTROLLER);
  } else if (request.is_migrating_zk_broker) {
    // Kafka 4 has no ZooKeeper migration.
    response.error_code = protocol::code(ErrorCode::BROKER_ID_NOT_REGISTERED);
  } else {
    auto reply = lifecycle->register_broker(to_input(request));
    response.error_code = protocol::code(reply.error.code);
    if (reply.error.ok()) response.broker_epoch = reply.broker_epoch;
  }
  responder.send(response);
}

}  // namespace

void handle_broker_registration(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<BrokerRegistrationRequest>(body, ctx.api_version);
  run_on_controller_thread(ctx, std::move(responder),
                           [request = std::move(request)](const RequestContext& c, Responder r) {
                             answer(c, request, std::move(r));
                           });
}

}  // namespace samsa::broker
