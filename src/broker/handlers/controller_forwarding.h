#pragma once
// Controller APIs (CreateTopics, DeleteTopics, CreatePartitions,
// AlterConfigs, IncrementalAlterConfigs) received on a broker listener, as
// Kafka's ForwardingManager serves them: when this node is the active
// controller the request is decided and committed here; otherwise (or when
// leadership moved while committing) the request is re-encoded at the
// client's version and sent to the active controller through the
// ControllerChannel, and its answer relayed. The channel retries on
// NOT_CONTROLLER until the timeout, so the client never sees NOT_CONTROLLER;
// past the timeout every item fails with REQUEST_TIMED_OUT.
// On the controller listener the request is always decided here
// (NOT_CONTROLLER when this node is not active).
//
// Threading: runs where the handler runs (the controller thread); the
// forwarded answer is sent from the channel's callback, which never blocks.
#include <chrono>
#include <functional>
#include <optional>
#include <vector>

#include "samsa/broker/broker_services.h"
#include "samsa/broker/controller_channel.h"
#include "samsa/broker/controller_service.h"
#include "samsa/broker/request_context.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::broker::admin {

// Kafka forwards with the channel's request timeout (request.timeout.ms).
inline constexpr std::chrono::milliseconds kDefaultForwardTimeout{30'000};

template <typename Response>
struct ForwardingOps {
  // Decides and commits on this node.
  std::function<Response()> local;
  // Whether an answer carries NOT_CONTROLLER for any item.
  std::function<bool(const Response&)> not_controller;
  // The answer with every item failed with `code`.
  std::function<Response(protocol::ErrorCode code)> all_failed;
  // Serve here whatever this node's role (a request about this node only).
  bool local_only = false;
};

template <typename Response, typename Request>
void serve_controller_api(const RequestContext& ctx, const Request& request, Responder responder,
                          std::chrono::milliseconds timeout, ForwardingOps<Response> ops) {
  const BrokerServices& services = *ctx.services;
  ControllerChannel* channel =
      ctx.listener_kind == ListenerKind::kBroker && !ops.local_only ? services.controller_channel : nullptr;
  const bool active = services.controller != nullptr && services.controller->active();
  if (active || channel == nullptr) {
    Response response = ops.local();
    if (channel == nullptr || !ops.not_controller(response)) return responder.send(response);
    // Leadership moved while committing: the new controller decides.
  }
  protocol::WireWriter w;
  request.encode(w, ctx.api_version);
  const int16_t version = ctx.api_version;
  auto is_not_controller = [version, check = ops.not_controller](const std::vector<uint8_t>& body) {
    try {
      protocol::WireReader r(body);
      Response response;
      response.decode(r, version);
      return check(response);
    } catch (const std::exception&) {
      return false;
    }
  };
  auto relay = [version, responder, all_failed = ops.all_failed](std::optional<std::vector<uint8_t>> body) mutable {
    if (!body) return responder.send(all_failed(protocol::ErrorCode::REQUEST_TIMED_OUT));
    try {
      protocol::WireReader r(*body);
      Response response;
      response.decode(r, version);
      responder.send(response);
    } catch (const std::exception&) {
      responder.send(all_failed(protocol::ErrorCode::UNKNOWN_SERVER_ERROR));
    }
  };
  if (timeout <= std::chrono::milliseconds::zero()) timeout = kDefaultForwardTimeout;
  channel->send(ctx.api_key, version, w.take(), timeout, std::move(is_not_controller), std::move(relay));
}

}  // namespace samsa::broker::admin
