#include "samsa/broker/broker_lifecycle_service.h"

#include "samsa/broker/scheduler.h"
#include "samsa/util/logging.h"
#include "samsa/util/serial_executor.h"

namespace samsa::broker {

using metadata::ApiError;
using protocol::ErrorCode;

namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.controller.BrokerLifecycle");
  return l;
}

ApiError not_controller() { return {ErrorCode::NOT_CONTROLLER, "This node is not the active controller."}; }

}  // namespace

BrokerLifecycleService::BrokerLifecycleService(ControllerService& controller, Options options)
    : controller_(controller), options_(std::move(options)), sessions_(options_.session_timeout_ms) {
  if (!options_.active_epoch) options_.active_epoch = [] { return std::optional<int32_t>(0); };
  if (!options_.next_offset) options_.next_offset = [](const MetadataImage& image) { return image.offset + 1; };
  if (!options_.now_ms)
    options_.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
}

std::optional<ApiError> BrokerLifecycleService::check_active(const MetadataImage& image, int64_t now) {
  std::optional<int32_t> epoch = options_.active_epoch();
  if (!epoch) {
    active_epoch_.reset();
    return not_controller();
  }
  if (active_epoch_ != epoch) {
    // A new term as active controller: nobody has heartbeated to us yet, so
    // every registered broker starts a full session now.
    sessions_.reset(image, now);
    active_epoch_ = epoch;
    log()->info("Active controller in epoch {}: tracking sessions of {} registered brokers", *epoch,
                image.brokers.size());
  }
  sessions_.track_new(image, now);
  return std::nullopt;
}

ApiError BrokerLifecycleService::commit(const ControllerService::Decide& decide) {
  // NOT_CONTROLLER or REQUEST_TIMED_OUT: the broker retries either way.
  auto result = controller_.commit(decide);
  if (auto* error = std::get_if<ControllerError>(&result)) return to_api_error(*error);
  return ApiError::none();
}

BrokerLifecycleService::RegistrationReply BrokerLifecycleService::register_broker(
    const metadata::BrokerRegistrationInput& input) {
  std::lock_guard lock(mu_);
  if (!options_.active_epoch()) return {not_controller(), -1};
  RegistrationReply reply;
  bool decided = false;
  ApiError failure = commit([&](const MetadataImage& image) -> std::vector<metadata::RecordAndVersion> {
    const int64_t now = options_.now_ms();
    if (auto e = check_active(image, now)) {
      reply.error = *e;
      return {};
    }
    decided = true;
    bool alive = sessions_.has_valid_session(image, input.broker_id, now);
    auto result = metadata::register_broker(image, input, options_.next_offset(image), alive, controller_.defaults());
    reply.error = result.error;
    reply.broker_epoch = result.broker_epoch;
    if (!result.error.ok()) return {};
    if (!result.records.empty()) sessions_.remove(input.broker_id);  // a new incarnation: no shutdown state
    sessions_.touch(input.broker_id, now, -1);
    return std::move(result.records);
  });
  if (!failure.ok()) return {failure, -1};
  if (decided && reply.error.ok())
    log()->info("Registered broker {} (incarnation {}) with epoch {}", input.broker_id,
                input.incarnation_id.to_string(), reply.broker_epoch);
  return reply;
}

metadata::BrokerHeartbeatResult BrokerLifecycleService::heartbeat(const metadata::BrokerHeartbeatInput& input) {
  std::lock_guard lock(mu_);
  metadata::BrokerHeartbeatResult result;
  if (!options_.active_epoch()) {
    result.error = not_controller();
    return result;
  }
  ApiError failure = commit([&](const MetadataImage& image) -> std::vector<metadata::RecordAndVersion> {
    const int64_t now = options_.now_ms();
    if (auto e = check_active(image, now)) {
      result.error = *e;
      return {};
    }
    std::optional<int64_t> shutdown_offset = sessions_.controlled_shutdown_offset(input.broker_id);
    bool others_caught_up = !shutdown_offset || sessions_.others_caught_up(image, input.broker_id, *shutdown_offset);
    result = metadata::broker_heartbeat(image, input, others_caught_up, controller_.defaults());
    if (!result.error.ok()) return {};
    sessions_.touch(input.broker_id, now, input.current_metadata_offset);
    if (result.next == metadata::BrokerControlState::kControlledShutdown && !result.records.empty())
      sessions_.set_controlled_shutdown_offset(
          input.broker_id, options_.next_offset(image) + static_cast<int64_t>(result.records.size()) - 1);
    return result.records;
  });
  if (!failure.ok()) {
    metadata::BrokerHeartbeatResult failed;
    failed.error = failure;
    return failed;
  }
  if (result.error.ok() && result.next != result.current)
    log()->info("Broker {} heartbeat: {} -> {}", input.broker_id, static_cast<int>(result.current),
                static_cast<int>(result.next));
  return result;
}

std::vector<int32_t> BrokerLifecycleService::fence_expired_sessions() {
  std::lock_guard lock(mu_);
  std::vector<int32_t> fenced;
  if (!options_.active_epoch()) return fenced;
  // One broker per commit, as Kafka fences one stale broker per event: each
  // decision sees the leadership moves of the previous one.
  for (int round = 0; round < 1000; ++round) {
    int32_t victim = -1;
    ApiError failure = commit([&](const MetadataImage& image) -> std::vector<metadata::RecordAndVersion> {
      const int64_t now = options_.now_ms();
      if (check_active(image, now)) return {};
      std::vector<int32_t> expired = sessions_.expired(image, now);
      if (expired.empty()) return {};
      victim = expired.front();
      return metadata::fence_broker_records(image, victim, controller_.defaults());
    });
    if (!failure.ok() || victim < 0) break;
    log()->info("Fenced broker {}: no heartbeat within broker.session.timeout.ms ({} ms)", victim,
                sessions_.session_timeout_ms());
    fenced.push_back(victim);
  }
  return fenced;
}

void BrokerLifecycleService::schedule_session_checks(Scheduler& scheduler, util::SerialExecutor* thread,
                                                     std::chrono::milliseconds period) {
  Post post;
  if (thread != nullptr) post = [thread](std::function<void()> job) { thread->post(std::move(job)); };
  schedule_session_checks(scheduler, std::move(post), period);
}

void BrokerLifecycleService::schedule_session_checks(Scheduler& scheduler, Post post,
                                                     std::chrono::milliseconds period) {
  scheduler.schedule_periodic(period, [this, post = std::move(post)] {
    if (!post) {
      fence_expired_sessions();
      return;
    }
    // At most one check waits in the controller queue behind slow commits.
    if (check_queued_.exchange(true)) return;
    post([this] {
      check_queued_.store(false);
      fence_expired_sessions();
    });
  });
}

}  // namespace samsa::broker
