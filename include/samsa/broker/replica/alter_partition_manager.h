#pragma once
// The broker side of AlterPartition (Kafka's DefaultAlterPartitionManager):
// partition leaders submit ISR updates; one AlterPartition request (v3:
// topic ids, broker epochs) is in flight at a time and carries every update
// queued meanwhile, with this broker's id and current broker epoch. The
// ControllerChannel follows the active controller and retries NOT_CONTROLLER
// until the request's deadline.
//
// Answers: each partition's error or new state goes to its `done`; a
// partition missing from the answer, or a top-level error (STALE_BROKER_EPOCH
// while re-registering, NOT_CONTROLLER, ...), keeps its update queued and the
// request is sent again after `retry_backoff`; no answer before the deadline
// completes every update of the request with REQUEST_TIMED_OUT (the
// Partition asks again on its next ISR check). A second update for a
// partition that already has one queued or in flight is refused at once
// with OPERATION_NOT_ATTEMPTED, as in Kafka.
//
// Threading: thread-safe. `done` runs without internal locks held, on the
// submitting thread (refusals) or the channel's / scheduler's thread. The
// channel and the scheduler must be stopped before this object is destroyed
// (their callbacks point at it).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "samsa/broker/controller_channel.h"
#include "samsa/broker/replica/alter_partition_sender.h"
#include "samsa/protocol/gen/alter_partition_request.h"

namespace samsa::broker::replica {

class AlterPartitionManager : public AlterPartitionSender {
 public:
  struct Options {
    int32_t broker_id = -1;
    // This broker's epoch at send time (BrokerLifecycleManager::broker_epoch()).
    std::function<int64_t()> broker_epoch;
    std::chrono::milliseconds request_timeout{30000};
    std::chrono::milliseconds retry_backoff{50};
    // Runs `fn` after `delay` (Scheduler::schedule); without it retries go
    // out at once.
    std::function<void(std::chrono::milliseconds delay, std::function<void()> fn)> schedule;
  };

  AlterPartitionManager(ControllerChannel& channel, Options options);
  // The channel as it is at each send (a broker creates its controller
  // channel after its partitions); while it is null, sends are retried
  // after `retry_backoff`.
  AlterPartitionManager(std::function<ControllerChannel*()> channel, Options options);

  void submit(std::shared_ptr<IsrUpdate> update, std::function<void(IsrUpdateResult)> done) override;

  // Updates queued or in flight (for tests and metrics).
  size_t pending() const;

 private:
  using Key = std::pair<protocol::Uuid, int32_t>;
  struct KeyLess {
    bool operator()(const Key& a, const Key& b) const {
      if (a.first.bytes != b.first.bytes) return a.first.bytes < b.first.bytes;
      return a.second < b.second;
    }
  };
  struct Item {
    std::shared_ptr<IsrUpdate> update;
    std::function<void(IsrUpdateResult)> done;
    bool in_flight = false;
  };

  void maybe_send();
  // Marks every queued update in flight and builds their request.
  protocol::AlterPartitionRequest take_request_locked();
  void on_response(std::optional<std::vector<uint8_t>> body);
  void retry_later();

  std::function<ControllerChannel*()> channel_;
  Options options_;
  mutable std::mutex mu_;
  std::map<Key, Item, KeyLess> items_;  // queued and in flight
  bool request_in_flight_ = false;
  bool retry_scheduled_ = false;  // a wait for the channel is scheduled
};

}  // namespace samsa::broker::replica
