#pragma once
// AlterPartition (key 56) as the active controller decides it, Kafka's
// ReplicationControlManager#alterPartition: a partition leader asks to
// change its ISR (and leader recovery state); each partition is validated
// against the image and, when valid, becomes a PartitionChangeRecord
// (build_partition_change: partition epoch + 1, leader epoch unchanged for a
// pure ISR change). Pure: no I/O.
#include <cstdint>
#include <vector>

#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata/records.h"
#include "samsa/broker/metadata_image.h"
#include "samsa/protocol/gen/alter_partition_request.h"
#include "samsa/protocol/gen/alter_partition_response.h"

namespace samsa::broker::metadata {

struct AlterPartitionResult {
  std::vector<RecordAndVersion> records;
  // Top-level error STALE_BROKER_EPOCH when the sender is not registered
  // with that epoch (then no topics); per partition otherwise: NONE with the
  // partition's state after the change (also when nothing changed),
  // UNKNOWN_TOPIC_ID (v2+) / UNKNOWN_TOPIC_OR_PARTITION, NOT_CONTROLLER (the
  // request is ahead of this image: ask again), FENCED_LEADER_EPOCH,
  // INVALID_REQUEST (not the leader, an ISR that is not a subset of the
  // replicas or lacks the leader, a recovery state that may not be asked),
  // INVALID_UPDATE_VERSION (stale partition epoch), INELIGIBLE_REPLICA (v2+;
  // OPERATION_NOT_ATTEMPTED before) for a new member that is unregistered,
  // fenced, shutting down or (v3) registered with another broker epoch,
  // NEW_LEADER_ELECTED (v2+; FENCED_LEADER_EPOCH before) when the change
  // moved the leadership away from the sender.
  protocol::AlterPartitionResponse response;
};

AlterPartitionResult alter_partition(const MetadataImage& image, const protocol::AlterPartitionRequest& request,
                                     int16_t api_version, const ControllerDefaults& defaults);

}  // namespace samsa::broker::metadata
