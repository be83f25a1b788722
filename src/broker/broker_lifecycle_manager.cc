#include "samsa/broker/broker_lifecycle_manager.h"

#include <algorithm>

#include "samsa/broker/metadata/records.h"
#include "samsa/protocol/gen/api_keys.h"
#include "samsa/protocol/gen/broker_heartbeat_request.h"
#include "samsa/protocol/gen/broker_heartbeat_response.h"
#include "samsa/protocol/gen/broker_registration_request.h"
#include "samsa/protocol/gen/broker_registration_response.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"
#include "samsa/util/logging.h"

namespace samsa::broker {

using protocol::ErrorCode;

namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.server.BrokerLifecycleManager");
  return l;
}

template <typename Message>
std::vector<uint8_t> encode(const Message& m, int16_t version) {
  protocol::WireWriter w;
  m.encode(w, version);
  return w.take();
}

// The decoded response, or nullopt when the body is malformed.
template <typename Message>
std::optional<Message> decode(const std::vector<uint8_t>& body, int16_t version) {
  try {
    protocol::WireReader r(body);
    Message m;
    m.decode(r, version);
    return m;
  } catch (const std::exception& e) {
    log()->warn("Malformed {}: {}", Message::kName, e.what());
    return std::nullopt;
  }
}

template <typename Response>
ControllerChannel::IsNotController is_not_controller(int16_t version) {
  return [version](const std::vector<uint8_t>& body) {
    auto r = decode<Response>(body, version);
    return r && r->error_code == protocol::code(ErrorCode::NOT_CONTROLLER);
  };
}

}  // namespace

const char* to_string(BrokerLifecycleState state) {
  switch (state) {
    case BrokerLifecycleState::kStarting: return "STARTING";
    case BrokerLifecycleState::kRecovery: return "RECOVERY";
    case BrokerLifecycleState::kRunning: return "RUNNING";
    case BrokerLifecycleState::kPendingControlledShutdown: return "PENDING_CONTROLLED_SHUTDOWN";
    case BrokerLifecycleState::kShuttingDown: return "SHUTTING_DOWN";
    case BrokerLifecycleState::kStopped: return "STOPPED";
  }
  return "?";
}

struct BrokerLifecycleManager::Shared {
  // Recursive: a channel may answer inline, inside send().
  std::recursive_mutex mu;
  BrokerLifecycleManager* self = nullptr;

  template <typename Fn>
  void with_self(Fn fn) {
    std::lock_guard lock(mu);
    if (self != nullptr) fn(*self);
  }
};

BrokerLifecycleManager::BrokerLifecycleManager(ControllerChannel& channel, ScheduleFn schedule,
                                               MetadataOffsetFn metadata_offset, Options options)
    : channel_(channel),
      schedule_(std::move(schedule)),
      metadata_offset_(std::move(metadata_offset)),
      options_(std::move(options)),
      shared_(std::make_shared<Shared>()) {
  if (options_.incarnation_id == protocol::Uuid{}) options_.incarnation_id = protocol::Uuid::random();
  ready_to_unfence_ = options_.ready_to_unfence;
  shared_->self = this;
}

BrokerLifecycleManager::~BrokerLifecycleManager() { stop(); }

void BrokerLifecycleManager::start() {
  log()->info("Registering broker {} (incarnation {}) with the controller", options_.node_id,
              options_.incarnation_id.to_string());
  send_registration();
}

void BrokerLifecycleManager::stop() {
  {
    std::lock_guard lock(shared_->mu);  // waits for a callback that is running
    shared_->self = nullptr;
  }
  std::lock_guard lock(mu_);
  state_ = BrokerLifecycleState::kStopped;
  cv_.notify_all();
}

void BrokerLifecycleManager::set_ready_to_unfence() {
  std::lock_guard lock(mu_);
  ready_to_unfence_ = true;
}

bool BrokerLifecycleManager::wait_until_unfenced(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return !fenced_ || state_ == BrokerLifecycleState::kStopped; }) &&
         !fenced_;
}

bool BrokerLifecycleManager::controlled_shutdown(std::chrono::milliseconds timeout) {
  bool send_now = false;
  {
    std::lock_guard lock(mu_);
    if (state_ == BrokerLifecycleState::kStopped) return false;
    want_shut_down_ = true;
    if (state_ == BrokerLifecycleState::kRunning || state_ == BrokerLifecycleState::kRecovery) {
      state_ = BrokerLifecycleState::kPendingControlledShutdown;
      // Ask at once rather than at the next heartbeat.
      if (in_flight_) heartbeat_now_ = true;
      else send_now = true;
    }
  }
  if (send_now) send_heartbeat();
  bool allowed;
  {
    std::unique_lock lock(mu_);
    allowed = cv_.wait_for(lock, timeout, [this] {
      return state_ == BrokerLifecycleState::kShuttingDown || state_ == BrokerLifecycleState::kStopped ||
             broker_epoch_ < 0;  // never registered: nothing to hand over
    });
    allowed = allowed && state_ == BrokerLifecycleState::kShuttingDown;
  }
  if (!allowed) log()->warn("Controlled shutdown of broker {} was not confirmed in time", options_.node_id);
  stop();
  return allowed;
}

BrokerLifecycleState BrokerLifecycleManager::state() const {
  std::lock_guard lock(mu_);
  return state_;
}
bool BrokerLifecycleManager::registered() const {
  std::lock_guard lock(mu_);
  return broker_epoch_ >= 0;
}
bool BrokerLifecycleManager::fenced() const {
  std::lock_guard lock(mu_);
  return fenced_;
}
int64_t BrokerLifecycleManager::broker_epoch() const {
  std::lock_guard lock(mu_);
  return broker_epoch_;
}
ErrorCode BrokerLifecycleManager::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

void BrokerLifecycleManager::schedule_locked(std::chrono::milliseconds delay, void (BrokerLifecycleManager::*step)()) {
  std::weak_ptr<Shared> weak = shared_;
  schedule_(delay, [weak, step] {
    if (auto shared = weak.lock()) shared->with_self([step](BrokerLifecycleManager& self) { (self.*step)(); });
  });
}

void BrokerLifecycleManager::failed_locked(ErrorCode error, void (BrokerLifecycleManager::*retry)()) {
  last_error_ = error;
  backoff_ms_ = backoff_ms_ == 0 ? options_.retry_backoff_ms
                                 : std::min(backoff_ms_ * 2, std::max(options_.heartbeat_interval_ms,
                                                                      options_.retry_backoff_ms));
  schedule_locked(std::chrono::milliseconds(backoff_ms_), retry);
}

void BrokerLifecycleManager::send_registration() {
  protocol::BrokerRegistrationRequest request;
  {
    std::lock_guard lock(mu_);
    if (state_ == BrokerLifecycleState::kStopped || in_flight_) return;
    in_flight_ = true;
  }
  request.broker_id = options_.node_id;
  request.cluster_id = options_.cluster_id;
  request.incarnation_id = options_.incarnation_id;
  for (const auto& l : options_.listeners) {
    protocol::BrokerRegistrationRequest::Listener out;
    out.name = l.listener;
    out.host = l.host;
    out.port = l.port;
    out.security_protocol = metadata::security_protocol_id(l.security_protocol);
    request.listeners.push_back(std::move(out));
  }
  for (const auto& [name, range] : options_.features) {
    protocol::BrokerRegistrationRequest::Feature f;
    f.name = name;
    f.min_supported_version = range.first;
    f.max_supported_version = range.second;
    request.features.push_back(std::move(f));
  }
  request.rack = options_.rack;
  request.log_dirs = options_.log_dirs;
  const int16_t version = options_.registration_version;
  std::weak_ptr<Shared> weak = shared_;
  channel_.send(static_cast<int16_t>(protocol::ApiKey::BrokerRegistration), version, encode(request, version),
                std::chrono::milliseconds(options_.request_timeout_ms),
                is_not_controller<protocol::BrokerRegistrationResponse>(version),
                [weak](std::optional<std::vector<uint8_t>> body) {
                  if (auto shared = weak.lock())
                    shared->with_self([&](BrokerLifecycleManager& self) { self.on_registration(std::move(body)); });
                });
}

void BrokerLifecycleManager::on_registration(std::optional<std::vector<uint8_t>> body) {
  std::optional<protocol::BrokerRegistrationResponse> response;
  if (body) response = decode<protocol::BrokerRegistrationResponse>(*body, options_.registration_version);
  bool heartbeat = false;
  {
    std::lock_guard lock(mu_);
    in_flight_ = false;
    if (state_ == BrokerLifecycleState::kStopped) return;
    ErrorCode error = !response ? ErrorCode::REQUEST_TIMED_OUT : static_cast<ErrorCode>(response->error_code);
    if (error != ErrorCode::NONE) {
      log()->warn("Broker {} registration failed ({}); retrying", options_.node_id, protocol::error_name(error));
      return failed_locked(error, &BrokerLifecycleManager::send_registration);
    }
    last_error_ = ErrorCode::NONE;
    backoff_ms_ = 0;
    broker_epoch_ = response->broker_epoch;
    fenced_ = true;
    if (state_ == BrokerLifecycleState::kStarting) state_ = BrokerLifecycleState::kRecovery;
    log()->info("Broker {} registered with broker epoch {}", options_.node_id, broker_epoch_);
    cv_.notify_all();
    heartbeat = true;
  }
  // The first heartbeat goes out at once: it may already unfence the broker.
  if (heartbeat) send_heartbeat();
}

void BrokerLifecycleManager::send_heartbeat() {
  protocol::BrokerHeartbeatRequest request;
  {
    std::lock_guard lock(mu_);
    if (state_ == BrokerLifecycleState::kStopped || state_ == BrokerLifecycleState::kShuttingDown || in_flight_) return;
    if (broker_epoch_ < 0) return;
    in_flight_ = true;
    heartbeat_now_ = false;
    request.broker_id = options_.node_id;
    request.broker_epoch = broker_epoch_;
    request.want_fence = !ready_to_unfence_ && !want_shut_down_;
    request.want_shut_down = want_shut_down_;
  }
  request.current_metadata_offset = metadata_offset_();
  const int16_t version = options_.heartbeat_version;
  std::weak_ptr<Shared> weak = shared_;
  channel_.send(static_cast<int16_t>(protocol::ApiKey::BrokerHeartbeat), version, encode(request, version),
                std::chrono::milliseconds(options_.request_timeout_ms),
                is_not_controller<protocol::BrokerHeartbeatResponse>(version),
                [weak](std::optional<std::vector<uint8_t>> body) {
                  if (auto shared = weak.lock())
                    shared->with_self([&](BrokerLifecycleManager& self) { self.on_heartbeat(std::move(body)); });
                });
}

void BrokerLifecycleManager::on_heartbeat(std::optional<std::vector<uint8_t>> body) {
  std::optional<protocol::BrokerHeartbeatResponse> response;
  if (body) response = decode<protocol::BrokerHeartbeatResponse>(*body, options_.heartbeat_version);
  bool again_now = false;
  bool reregister = false;
  {
    std::lock_guard lock(mu_);
    in_flight_ = false;
    if (state_ == BrokerLifecycleState::kStopped) return;
    ErrorCode error = !response ? ErrorCode::REQUEST_TIMED_OUT : static_cast<ErrorCode>(response->error_code);
    if (error == ErrorCode::BROKER_ID_NOT_REGISTERED || error == ErrorCode::STALE_BROKER_EPOCH) {
      // The controller does not know this registration (any more): register
      // again; the same incarnation gets its epoch back if it still holds.
      log()->warn("Broker {} heartbeat: {}; registering again", options_.node_id, protocol::error_name(error));
      last_error_ = error;
      broker_epoch_ = -1;
      fenced_ = true;
      if (state_ != BrokerLifecycleState::kPendingControlledShutdown) state_ = BrokerLifecycleState::kStarting;
      reregister = true;
    } else if (error != ErrorCode::NONE) {
      log()->debug("Broker {} heartbeat failed ({}); retrying", options_.node_id, protocol::error_name(error));
      return failed_locked(error, &BrokerLifecycleManager::send_heartbeat);
    } else {
      last_error_ = ErrorCode::NONE;
      backoff_ms_ = 0;
      const bool was_fenced = fenced_;
      fenced_ = response->is_fenced;
      if (was_fenced && !fenced_) log()->info("Broker {} was unfenced by the controller", options_.node_id);
      if (!was_fenced && fenced_ && !want_shut_down_)
        log()->warn("Broker {} was fenced by the controller", options_.node_id);
      if (state_ == BrokerLifecycleState::kRecovery && !fenced_) state_ = BrokerLifecycleState::kRunning;
      if (state_ == BrokerLifecycleState::kRunning && fenced_) state_ = BrokerLifecycleState::kRecovery;
      if (state_ == BrokerLifecycleState::kPendingControlledShutdown && response->should_shut_down) {
        log()->info("The controller allowed broker {} to shut down", options_.node_id);
        state_ = BrokerLifecycleState::kShuttingDown;
      }
      cv_.notify_all();
      if (state_ == BrokerLifecycleState::kShuttingDown) return;
      again_now = heartbeat_now_;
      if (!again_now) {
        // While shutting down, ask often: leaderships move within a few rounds.
        int64_t interval = state_ == BrokerLifecycleState::kPendingControlledShutdown
                               ? std::min<int64_t>(options_.heartbeat_interval_ms, 200)
                               : options_.heartbeat_interval_ms;
        schedule_locked(std::chrono::milliseconds(interval), &BrokerLifecycleManager::send_heartbeat);
      }
    }
  }
  if (reregister) send_registration();
  if (again_now) send_heartbeat();
}

}  // namespace samsa::broker
