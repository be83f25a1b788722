#pragma once
// How a partition leader asks the active controller to change its ISR
// (Kafka's AlterPartitionManager): the Partition builds an IsrUpdate, the
// sender batches the pending ones into AlterPartition requests (v2+: topic
// ids; v3: broker epochs, KIP-903) over the controller channel, with this
// broker's id and epoch, retrying while the controller is unknown or moving,
// and hands each partition its answer. At most one update per partition is
// in flight (the Partition keeps it as pending until answered).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "samsa/broker/metadata_image.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/uuid.h"

namespace samsa::broker::replica {

class Partition;

struct IsrUpdate {
  std::string topic;
  protocol::Uuid topic_id;
  int32_t partition = -1;
  int32_t leader_epoch = -1;     // the leader's epoch when it asked
  int32_t partition_epoch = -1;  // the partition epoch the change is based on
  // The ISR wanted, each member with the broker epoch it fetched with
  // (-1: unknown); the controller refuses a member whose epoch is stale.
  std::vector<std::pair<int32_t, int64_t>> new_isr;
  int8_t leader_recovery_state = 0;  // 0 RECOVERED
  std::weak_ptr<Partition> partition_ref;  // answered through on_isr_update_result
};

// The controller's answer for one partition: the error (NONE,
// INVALID_UPDATE_VERSION, FENCED_LEADER_EPOCH, INELIGIBLE_REPLICA,
// NEW_LEADER_ELECTED, NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_ID,
// OPERATION_NOT_ATTEMPTED, REQUEST_TIMED_OUT when no answer came) and on
// success the partition as the controller now has it (leader, leader epoch,
// ISR, partition epoch, leader recovery state; the other fields empty).
struct IsrUpdateResult {
  protocol::ErrorCode error = protocol::ErrorCode::NONE;
  PartitionImage partition;
};

class AlterPartitionSender {
 public:
  virtual ~AlterPartitionSender() = default;
  // Queues the update; `done` runs once, on any thread, with the answer.
  virtual void submit(std::shared_ptr<IsrUpdate> update, std::function<void(IsrUpdateResult)> done) = 0;
};

}  // namespace samsa::broker::replica
