#pragma once
// The controller side of broker registration and heartbeats (KIP-631):
// BrokerRegistration and BrokerHeartbeat requests and the periodic session
// check go through here, as Kafka's QuorumController hands them to its
// ClusterControlManager and ReplicationControlManager. Decisions are the pure
// functions of metadata/broker_lifecycle.h and register_broker; this class
// adds the session state (BrokerHeartbeatManager) and commits the records
// through ControllerService, so they are applied only once committed.
//
// Only the active controller answers; elsewhere every call fails with
// NOT_CONTROLLER. The first call after this node becomes the active
// controller (a new Raft epoch) gives every registered broker a fresh
// session, as Kafka does on activation.
//
// Threading: calls are serialized by an internal mutex and are meant for the
// controller thread (controller_thread.h): each one waits for a commit.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "samsa/broker/controller_service.h"
#include "samsa/broker/metadata/broker_heartbeat_manager.h"
#include "samsa/broker/metadata/broker_lifecycle.h"
#include "samsa/broker/metadata/controller.h"

namespace samsa::util {
class SerialExecutor;
}

namespace samsa::broker {

class Scheduler;

class BrokerLifecycleService {
 public:
  struct Options {
    int64_t session_timeout_ms = 9000;  // broker.session.timeout.ms
    // The Raft epoch while this node is the active controller, nullopt while
    // it is not. Default: always active in epoch 0 (single-voter quorum).
    std::function<std::optional<int32_t>()> active_epoch;
    // The offset the next committed batch will start at, asked inside a
    // commit's decide function. Default: image.offset + 1.
    std::function<int64_t(const MetadataImage&)> next_offset;
    // Monotonic milliseconds. Default: std::chrono::steady_clock.
    std::function<int64_t()> now_ms;
    // How often the periodic check also looks for leaderless partitions to
    // elect (Kafka's uncleanLeaderElectionCheckIntervalMs, 5 minutes): an
    // unclean.leader.election.enable turned on later takes effect then.
    int64_t unclean_election_check_interval_ms = 300000;
  };

  BrokerLifecycleService(ControllerService& controller, Options options);

  struct RegistrationReply {
    metadata::ApiError error;
    int64_t broker_epoch = -1;
  };
  RegistrationReply register_broker(const metadata::BrokerRegistrationInput& input);

  // The heartbeat's answer (error, is_caught_up, is_fenced, should_shut_down).
  metadata::BrokerHeartbeatResult heartbeat(const metadata::BrokerHeartbeatInput& input);

  // Fences every unfenced broker whose session expired, one commit each, and
  // returns their ids. Does nothing when this node is not active.
  std::vector<int32_t> fence_expired_sessions();

  // Elects leaders for leaderless partitions where the rules now allow one
  // (an unclean election once the topic's unclean.leader.election.enable is
  // true), in one commit; returns how many partitions changed. Does nothing
  // when this node is not active.
  size_t elect_leaderless_partitions();

  // Runs fence_expired_sessions every `period` on `thread` (inline on the
  // scheduler thread when null), and elect_leaderless_partitions every
  // unclean_election_check_interval_ms. The scheduler and thread must be
  // stopped before this object is destroyed.
  void schedule_session_checks(Scheduler& scheduler, util::SerialExecutor* thread,
                               std::chrono::milliseconds period = std::chrono::milliseconds(250));
  // The same with the hand-over to the controller thread left to `post`
  // (which may drop the job once that thread is gone).
  using Post = std::function<void(std::function<void()> job)>;
  void schedule_session_checks(Scheduler& scheduler, Post post,
                               std::chrono::milliseconds period = std::chrono::milliseconds(250));

  // For tests and DescribeCluster-style views; same thread rules.
  const metadata::BrokerHeartbeatManager& sessions() const { return sessions_; }

 private:
  // NOT_CONTROLLER unless active; resets sessions on a new active epoch.
  std::optional<metadata::ApiError> check_active(const MetadataImage& image, int64_t now);
  metadata::ApiError commit(const ControllerService::Decide& decide);

  ControllerService& controller_;
  Options options_;
  metadata::BrokerHeartbeatManager sessions_;
  std::optional<int32_t> active_epoch_;  // the epoch sessions_ was reset for
  std::mutex mu_;
  std::atomic<bool> check_queued_{false};
  int64_t next_election_check_ms_ = -1;  // periodic check thread only
};

}  // namespace samsa::broker
