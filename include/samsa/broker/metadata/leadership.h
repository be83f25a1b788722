#pragma once
// Leadership and reassignment decisions of the active controller, as pure
// functions over the image in the style of controller.h (Kafka's
// ReplicationControlManager#electLeaders, #alterPartitionReassignments,
// #listPartitionReassignments and the reassignment completion of its
// PartitionChangeBuilder). Nothing here does I/O: the caller commits the
// returned records.
//
// A leader change is a PartitionChangeRecord with `leader` set; replaying it
// bumps the leader epoch (MetadataDelta), so every election here fences the
// old leader's epoch.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "samsa/broker/metadata/records.h"
#include "samsa/broker/metadata_image.h"

namespace samsa::broker::metadata {

// Topic name -> partition ids; nullopt means "every partition" where the
// protocol allows it.
using PartitionSelection = std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>;

// --- ElectLeaders (API 43) ---
enum class ElectionType : int8_t { kPreferred = 0, kUnclean = 1 };

struct ElectionPartitionResult {
  int32_t partition = -1;
  ApiError error;
};
struct ElectionTopicResult {
  std::string topic;
  std::vector<ElectionPartitionResult> partitions;
};
struct ElectLeadersResult {
  std::vector<RecordAndVersion> records;
  std::vector<ElectionTopicResult> topics;
};

// Per partition: UNKNOWN_TOPIC_OR_PARTITION; ELECTION_NOT_NEEDED when the
// preferred replica already leads (preferred) or there is a leader
// (unclean); PREFERRED_LEADER_NOT_AVAILABLE / ELIGIBLE_LEADERS_NOT_AVAILABLE
// when no change can be made. Preferred: the first replica if it is in the
// ISR and on an unfenced broker not in controlled shutdown; else, as Kafka,
// the current leader stays if it can, or the first such ISR member takes over.
// Unclean: a clean ISR leader if there is one, else the first live replica,
// which becomes the only ISR member (its log is the truth from now on).
// With `selection` nullopt every partition is tried and those answering
// ELECTION_NOT_NEEDED are left out of the results, as Kafka does.
ElectLeadersResult elect_leaders(const MetadataImage& image, ElectionType type, const PartitionSelection& selection);

// --- auto.leader.rebalance.enable ---
// The preferred-leader elections the periodic check makes: for each broker,
// the share of the partitions whose preferred (first) replica it is but which
// another broker leads; when that share exceeds `imbalance_percentage`
// (leader.imbalance.per.broker.percentage) every such partition whose
// preferred replica may lead (in the ISR, unfenced, not shutting down, no
// reassignment in progress) moves back to it. At most `max_elections`
// records (Kafka's batch bound); the next check takes the rest.
std::vector<RecordAndVersion> balance_leaders(const MetadataImage& image, int32_t imbalance_percentage,
                                              size_t max_elections = 1000);

// --- AlterPartitionReassignments (API 45) / ListPartitionReassignments (46) ---
struct ReassignmentTarget {
  std::string topic;
  int32_t partition = -1;
  std::optional<std::vector<int32_t>> replicas;  // nullopt: cancel
};
struct ReassignmentResult {
  std::string topic;
  int32_t partition = -1;
  ApiError error;
};
struct AlterReassignmentsResult {
  std::vector<RecordAndVersion> records;
  std::vector<ReassignmentResult> partitions;  // request order
};

// KIP-455 as Kafka's KRaft controller does it. For target R over the
// original replicas C (the current ones without an earlier reassignment's
// adding replicas): replicas = R then C-R, adding = R-C, removing = C-R. New
// replicas create their logs and catch up as followers; once every adding
// replica is in the ISR the reassignment completes (complete_reassignments).
// A target already covered by the ISR completes at once. Cancelling (nullopt)
// goes back to C, dropping the adding replicas from the ISR; without a
// reassignment in progress it fails with NO_REASSIGNMENT_IN_PROGRESS.
// Errors: UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT (empty,
// duplicates, unregistered brokers), INVALID_REQUEST (duplicate partition).
AlterReassignmentsResult alter_partition_reassignments(const MetadataImage& image,
                                                       std::span<const ReassignmentTarget> targets);

struct OngoingReassignment {
  std::string topic;
  int32_t partition = -1;
  std::vector<int32_t> replicas;
  std::vector<int32_t> adding;
  std::vector<int32_t> removing;
};
// Reassignments in progress, by topic name and partition; unknown topics
// and partitions not being reassigned are left out.
std::vector<OngoingReassignment> list_partition_reassignments(const MetadataImage& image,
                                                              const PartitionSelection& selection);

// The change that completes `p`'s reassignment if every adding replica is in
// the ISR: replicas = target, ISR = ISR without removing replicas, adding and
// removing cleared, and a new leader (first acceptable target replica in the
// new ISR) when the old one is removed. nullopt when not ready (or nothing to
// complete, or the new ISR would be empty). The controller's AlterPartition
// handling may call this on the image after an ISR change, as Kafka does.
std::optional<RecordAndVersion> reassignment_completion(const MetadataImage& image, const TopicImage& topic,
                                                        const PartitionImage& p);
// Completion records for every partition that is ready.
std::vector<RecordAndVersion> complete_reassignments(const MetadataImage& image);
// Cheap test: does any partition have a reassignment in progress?
bool any_reassignment_in_progress(const MetadataImage& image);

}  // namespace samsa::broker::metadata
