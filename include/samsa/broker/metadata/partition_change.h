#pragma once
// One partition's ISR / leader change, decided the way Kafka's
// PartitionChangeBuilder does: the caller says which ISR it wants (a shrink
// when a broker is fenced, the leader's AlterPartition, ...), and the builder
// elects a leader (kept when still valid, else the first acceptable replica
// in the new ISR; with an empty ISR, from the eligible leader replicas of
// KIP-966; an unclean election only when allowed), keeps the ELR and
// last-known-ELR fields, and returns the PartitionChangeRecord carrying only
// what changes, or nothing when nothing does. Pure: no I/O, no clock.
//
// What we do without ELR (eligible.leader.replicas.version 0, the default,
// as in Kafka 4.0): the ISR never becomes empty, its last member stays even
// when fenced or restarted uncleanly, because it is the only replica known
// to have every committed record; it leads again when it comes back.
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata/records.h"
#include "samsa/broker/metadata_image.h"

namespace samsa::broker::metadata {

inline constexpr std::string_view kEligibleLeaderReplicasFeature = "eligible.leader.replicas.version";

// True when KIP-966 eligible leader replicas are on: the feature is
// finalized at level >= 1 and metadata.version has the record fields
// (PartitionChangeRecord v2, 4.0-IV1).
bool elr_enabled(const MetadataImage& image);

// The per-topic settings that steer a change.
struct PartitionChangeSettings {
  int32_t min_isr = 1;            // min.insync.replicas, capped at the replication factor
  bool unclean_election = false;  // unclean.leader.election.enable
  bool elr = false;               // elr_enabled(image)
};
// Topic override > dynamic broker (this controller's id, then cluster
// default) > server.properties > Kafka's default.
PartitionChangeSettings partition_change_settings(const MetadataImage& image, const TopicImage& topic,
                                                  const ControllerDefaults& defaults);

// A broker that may lead: registered, unfenced and not in controlled shutdown.
bool active_broker(const MetadataImage& image, int32_t broker_id);

enum class Election {
  kOnline,     // keep the leader if valid, else the first valid replica
  kPreferred,  // the first replica in assignment order if valid, else as kOnline
};

struct PartitionChangeRequest {
  std::optional<std::vector<int32_t>> target_isr;  // nullopt: the current ISR
  // Replicas that restarted without a clean shutdown: they leave the ELR and
  // may not lead (their unflushed tail may be gone).
  std::vector<int32_t> unclean_shutdown_replicas;
  std::optional<int8_t> target_leader_recovery_state;
  Election election = Election::kOnline;
  // Who may lead; default active_broker(image, id).
  std::function<bool(int32_t)> acceptable_leader;
};

std::optional<RecordAndVersion> build_partition_change(const MetadataImage& image, const protocol::Uuid& topic_id,
                                                       const PartitionImage& partition,
                                                       const PartitionChangeRequest& request,
                                                       const PartitionChangeSettings& settings);

// Applies a PartitionChangeRecord to a partition (Kafka's
// PartitionRegistration#merge): the partition epoch always moves on, the
// leader epoch only when the record names a leader.
void merge_partition_change(PartitionImage& partition, const protocol::PartitionChangeRecord& record);

}  // namespace samsa::broker::metadata
