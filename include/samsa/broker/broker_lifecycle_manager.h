#pragma once
// The broker side of KIP-631 (Kafka's BrokerLifecycleManager): registers
// this broker incarnation with the active controller through the
// ControllerChannel, then heartbeats every broker.heartbeat.interval.ms with
// the metadata offset it has applied. The controller unfences the broker once
// that offset reaches its registration; on stop, heartbeats ask for a
// controlled shutdown until the controller answers should_shut_down (its
// leaderships have moved) or a deadline passes.
//
// States: kStarting -> kRecovery (registered, fenced) -> kRunning (unfenced)
// -> kPendingControlledShutdown -> kShuttingDown. A heartbeat that finds the
// registration gone (BROKER_ID_NOT_REGISTERED, STALE_BROKER_EPOCH) registers
// again; every other failure is retried after a backoff.
//
// Threading: thread-safe. Work happens in channel callbacks and timer
// callbacks (one request in flight at a time); waits block the caller.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "samsa/broker/controller_channel.h"
#include "samsa/broker/metadata_image.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/uuid.h"

namespace samsa::broker {

enum class BrokerLifecycleState { kStarting, kRecovery, kRunning, kPendingControlledShutdown, kShuttingDown, kStopped };
const char* to_string(BrokerLifecycleState state);

class BrokerLifecycleManager {
 public:
  // Runs `fn` once after `delay` (on any thread). Production: Scheduler::schedule.
  using ScheduleFn = std::function<void(std::chrono::milliseconds delay, std::function<void()> fn)>;
  // The offset of the last metadata record this broker has applied.
  using MetadataOffsetFn = std::function<int64_t()>;

  struct Options {
    int32_t node_id = -1;
    std::string cluster_id;
    protocol::Uuid incarnation_id;  // zero: a random one
    std::vector<BrokerEndpoint> listeners;                                // advertised listeners
    std::vector<std::pair<std::string, std::pair<int16_t, int16_t>>> features;  // name -> [min, max]
    std::optional<std::string> rack;
    std::vector<protocol::Uuid> log_dirs;
    int64_t heartbeat_interval_ms = 2000;  // broker.heartbeat.interval.ms
    int64_t request_timeout_ms = 5000;     // per registration / heartbeat, retries included
    int64_t retry_backoff_ms = 100;        // after a failed request, doubling up to the heartbeat interval
    // Ask to be unfenced from the first heartbeat; otherwise only after
    // set_ready_to_unfence() (e.g. once local logs are loaded).
    bool ready_to_unfence = true;
    int16_t registration_version = 4;
    int16_t heartbeat_version = 1;
  };

  BrokerLifecycleManager(ControllerChannel& channel, ScheduleFn schedule, MetadataOffsetFn metadata_offset,
                         Options options);
  ~BrokerLifecycleManager();  // stop() without a controlled shutdown
  BrokerLifecycleManager(const BrokerLifecycleManager&) = delete;
  BrokerLifecycleManager& operator=(const BrokerLifecycleManager&) = delete;

  // Starts registering. Call once.
  void start();
  void set_ready_to_unfence();
  // Blocks until the controller has unfenced this broker, or `timeout`.
  bool wait_until_unfenced(std::chrono::milliseconds timeout);
  // Asks for a controlled shutdown and blocks until the controller allows
  // it or `timeout` passes; then stops. Returns true when allowed.
  bool controlled_shutdown(std::chrono::milliseconds timeout);
  // Stops sending; answers still in flight are ignored.
  void stop();

  BrokerLifecycleState state() const;
  bool registered() const;
  bool fenced() const;
  int64_t broker_epoch() const;  // -1 until registered
  protocol::Uuid incarnation_id() const { return options_.incarnation_id; }
  // The error of the last failed request (NONE after a success).
  protocol::ErrorCode last_error() const;

 private:
  struct Shared;
  void send_registration();
  void send_heartbeat();
  void on_registration(std::optional<std::vector<uint8_t>> body);
  void on_heartbeat(std::optional<std::vector<uint8_t>> body);
  void schedule_locked(std::chrono::milliseconds delay, void (BrokerLifecycleManager::*step)());
  void failed_locked(protocol::ErrorCode error, void (BrokerLifecycleManager::*retry)());

  ControllerChannel& channel_;
  ScheduleFn schedule_;
  MetadataOffsetFn metadata_offset_;
  Options options_;
  // Callbacks hold this, not `this`: after stop() they find `stopped` and
  // return, so late answers and timers never touch a destroyed manager.
  std::shared_ptr<Shared> shared_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  BrokerLifecycleState state_ = BrokerLifecycleState::kStarting;
  int64_t broker_epoch_ = -1;
  bool fenced_ = true;
  bool ready_to_unfence_ = true;
  bool want_shut_down_ = false;
  bool in_flight_ = false;
  bool heartbeat_now_ = false;  // a shutdown request arrived while a request was in flight
  int64_t backoff_ms_ = 0;
  protocol::ErrorCode last_error_ = protocol::ErrorCode::NONE;
};

}  // namespace samsa::broker
