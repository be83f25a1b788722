#pragma once
// Broker lifecycle decisions of the active controller (KIP-631), as pure
// functions over the image in the style of controller.h: heartbeats that
// unfence, fence or shut a broker down, session expiry, and the partition
// leadership moves these imply (Kafka's BrokerHeartbeatManager#
// calculateNextBrokerState and ReplicationControlManager#handleBrokerFenced /
// handleBrokerUnfenced / handleBrokerInControlledShutdown). The caller keeps
// the per-broker session state (BrokerHeartbeatManager) and commits the
// returned records as one batch.
#include <cstdint>
#include <vector>

#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata/records.h"
#include "samsa/broker/metadata_image.h"

namespace samsa::broker::metadata {

// Where a broker stands, as Kafka's BrokerControlState.
enum class BrokerControlState { kFenced, kUnfenced, kControlledShutdown, kShutdownNow };

BrokerControlState current_control_state(const BrokerRegistration& broker);

struct BrokerHeartbeatInput {
  int32_t broker_id = -1;
  int64_t broker_epoch = -1;
  int64_t current_metadata_offset = -1;
  bool want_fence = false;
  bool want_shut_down = false;
};

struct BrokerHeartbeatResult {
  ApiError error;
  std::vector<RecordAndVersion> records;
  BrokerControlState current = BrokerControlState::kFenced;
  BrokerControlState next = BrokerControlState::kFenced;
  bool is_caught_up = false;
  bool is_fenced = true;
  bool in_controlled_shutdown = false;
  bool should_shut_down = false;
};

// One heartbeat. `others_caught_up_to_shutdown` tells whether every other
// active broker has applied the metadata up to the record that put this
// broker into controlled shutdown (only read while it is in controlled
// shutdown): then it may stop, once it leads no partition.
// Errors: BROKER_ID_NOT_REGISTERED, STALE_BROKER_EPOCH.
// `defaults` supply the broker-level min.insync.replicas and
// unclean.leader.election.enable for the leadership moves (here and below).
BrokerHeartbeatResult broker_heartbeat(const MetadataImage& image, const BrokerHeartbeatInput& input,
                                       bool others_caught_up_to_shutdown, const ControllerDefaults& defaults = {});

// Records that fence a registered broker (its session expired or it asked):
// every partition with it in the ISR drops it from the ISR (unless it is the
// last member and ELR is off; with ELR it may move to the ELR) and, where it
// led, gets the next unfenced ISR member as leader, or an unclean leader when
// the topic allows it, or none (-1). Empty when the broker is unknown or
// already fenced.
std::vector<RecordAndVersion> fence_broker_records(const MetadataImage& image, int32_t broker_id,
                                                   const ControllerDefaults& defaults = {});
// Records that unfence a broker: the registration change, then leadership of
// every leaderless partition whose ISR now has an acceptable leader.
std::vector<RecordAndVersion> unfence_broker_records(const MetadataImage& image, int32_t broker_id,
                                                     const ControllerDefaults& defaults = {});
// Records that start a controlled shutdown: the registration is marked, and
// the broker leaves every ISR (but the last) and every leadership.
std::vector<RecordAndVersion> controlled_shutdown_records(const MetadataImage& image, int32_t broker_id,
                                                          const ControllerDefaults& defaults = {});

// PartitionChangeRecords that take `broker_id` out of every ISR it is in
// (kept when it is the last member, unless ELR is on) and move its
// leaderships to the first replica in replica order that is in the new ISR,
// unfenced and not shutting down; -1 when there is none (or an unclean
// leader when the topic's unclean.leader.election.enable allows). The leader
// epoch moves only with the leader (merge_partition_change).
std::vector<RecordAndVersion> remove_broker_from_partitions(const MetadataImage& image, int32_t broker_id,
                                                            const ControllerDefaults& defaults = {});
// PartitionChangeRecords that give leaderless partitions a leader from their
// ISR (or ELR when the ISR is empty), treating `unfenced_broker` as unfenced
// already (it is being unfenced in the same batch).
std::vector<RecordAndVersion> elect_leaderless_partitions(const MetadataImage& image, int32_t unfenced_broker,
                                                          const ControllerDefaults& defaults = {});
// KIP-966: a broker registering a new incarnation without a clean shutdown
// of the previous one (its PreviousBrokerEpoch is not the registered epoch)
// may have lost its unflushed tail: it leaves every ISR (the last member
// stays while ELR is off, as in Kafka: it is all there is) and every ELR,
// and may not lead.
std::vector<RecordAndVersion> unclean_shutdown_records(const MetadataImage& image, int32_t broker_id,
                                                       const ControllerDefaults& defaults = {});

// True when the broker leads at least one partition.
bool leads_any_partition(const MetadataImage& image, int32_t broker_id);

}  // namespace samsa::broker::metadata
