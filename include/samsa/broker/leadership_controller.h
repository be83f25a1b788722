#pragma once
// The active controller's background leadership work, as Kafka's
// QuorumController schedules it:
//  - auto.leader.rebalance.enable: every leader.imbalance.check.interval.seconds
//    the partitions of brokers whose share of lost preferred leaderships is
//    above leader.imbalance.per.broker.percentage go back to their preferred
//    replica (metadata::balance_leaders);
//  - reassignment completion: once every adding replica of a partition is in
//    its ISR (the leader's AlterPartition put it there), the move completes
//    (metadata::complete_reassignments). Each published image is checked
//    (cheaply: only topics that changed, and only those with a reassignment
//    in progress are scanned), and a periodic tick retries what a commit
//    missed (e.g. right after a controller failover).
// Decisions are made inside ControllerService::commit on the latest image,
// so a stale check never writes a stale change.
//
// Threading: on_image() runs on the metadata listener thread and never
// blocks; the commits run as jobs handed to `post` (the controller thread).
// At most one job of each kind is queued at a time.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>

#include "samsa/broker/controller_service.h"
#include "samsa/broker/metadata_image.h"

namespace samsa::broker {

class Scheduler;
struct BrokerConfig;

class LeadershipController {
 public:
  struct Options {
    bool auto_leader_rebalance = true;                          // auto.leader.rebalance.enable
    std::chrono::milliseconds imbalance_check_interval{300'000};  // leader.imbalance.check.interval.seconds
    int32_t imbalance_percentage = 10;                          // leader.imbalance.per.broker.percentage
    // How often a ready reassignment is looked for without a new image.
    std::chrono::milliseconds reassignment_check_interval{1'000};
  };
  static Options options_from(const BrokerConfig& config);

  // Runs `job` on the controller thread (may drop it once that is gone).
  using Post = std::function<void(std::function<void()> job)>;

  LeadershipController(ControllerService& controller, Options options, Post post);

  // A newly published image (metadata listener thread).
  void on_image(const std::shared_ptr<const MetadataImage>& image);
  // Starts the periodic checks. The scheduler must be stopped before this
  // object goes.
  void schedule(Scheduler& scheduler);

  // The commits (controller thread; public for tests). Each returns the
  // number of partitions changed; 0 when this node is not active.
  size_t balance_leaders_now();
  size_t complete_reassignments_now();

 private:
  void queue_completion();

  ControllerService& controller_;
  const Options options_;
  Post post_;
  std::mutex mu_;  // guards the two members below
  std::shared_ptr<const MetadataImage> last_image_;
  std::set<protocol::Uuid, UuidLess> reassigning_;  // topics with a reassignment in progress
  std::atomic<bool> completion_queued_{false};
  std::atomic<bool> balance_queued_{false};
};

}  // namespace samsa::broker
