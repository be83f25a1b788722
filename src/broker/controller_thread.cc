#include "samsa/broker/controller_thread.h"

#include "samsa/broker/broker_services.h"
#include "samsa/protocol/decode_error.h"
#include "samsa/util/logging.h"
#include "samsa/util/serial_executor.h"

namespace samsa::broker {

namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.controller.ControllerThread");
  return l;
}

void run_guarded(const RequestContext& ctx, Responder responder, const ControllerJob& job) {
  try {
    job(ctx, responder);
  } catch (const protocol::DecodeError& e) {
    log()->warn("Closing connection from {}: malformed request (api key {}, version {}): {}",
                ctx.connection ? ctx.connection->peer : "?", ctx.api_key, ctx.api_version, e.what());
    responder.close();
  } catch (const std::exception& e) {
    log()->error("Closing connection from {}: error while handling api key {} version {}: {}",
                 ctx.connection ? ctx.connection->peer : "?", ctx.api_key, ctx.api_version, e.what());
    responder.close();
  }
}

}  // namespace

bool should_hand_over(const RequestContext& ctx) {
  util::SerialExecutor* thread = ctx.services ? ctx.services->controller_thread : nullptr;
  return thread != nullptr && !thread->running_here();
}

void run_on_controller_thread(const RequestContext& ctx, Responder responder, ControllerJob job) {
  if (!should_hand_over(ctx)) return run_guarded(ctx, std::move(responder), job);
  // The connection may close before the job runs: the job keeps its own copy.
  auto conn = std::make_shared<net::ConnectionInfo>(ctx.connection ? *ctx.connection : net::ConnectionInfo{});
  RequestContext owned = ctx;
  owned.connection = conn.get();
  ctx.services->controller_thread->post(
      [conn, owned, responder = std::move(responder), job = std::move(job)]() mutable {
        run_guarded(owned, std::move(responder), job);
      });
}

}  // namespace samsa::broker
