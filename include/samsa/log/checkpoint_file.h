#pragma once
// Kafka's small text files, byte for byte as Kafka writes them ('\n' line
// ends, every line terminated):
//
// Offset checkpoints, one per log dir (recovery-point-offset-checkpoint,
// log-start-offset-checkpoint):
//     0                      version
//     2                      number of entries
//     my-topic 0 1234        topic, partition, offset (one space apart)
//     my-topic 1 88
//
// leader-epoch-checkpoint, one per partition dir:
//     0                      version
//     2                      number of entries
//     0 0                    leader epoch, its start offset
//     3 1500
//
// partition.metadata, one per partition dir:
//     version: 0
//     topic_id: <22-character URL-safe base64 Uuid>
//
// All are replaced atomically (temp file, fsync, rename, fsync of the dir).
// Parsers return nullopt for malformed content instead of guessing.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "samsa/log/topic_partition.h"
#include "samsa/protocol/uuid.h"

namespace samsa::log {

inline constexpr const char* kRecoveryPointCheckpointFile = "recovery-point-offset-checkpoint";
inline constexpr const char* kLogStartOffsetCheckpointFile = "log-start-offset-checkpoint";
// Each partition's high watermark (Kafka's ReplicaManager writes it every
// replica.high.watermark.checkpoint.interval.ms and at shutdown).
inline constexpr const char* kReplicationOffsetCheckpointFile = "replication-offset-checkpoint";
inline constexpr const char* kLeaderEpochCheckpointFile = "leader-epoch-checkpoint";
inline constexpr const char* kPartitionMetadataFile = "partition.metadata";

using OffsetCheckpoint = std::map<TopicPartition, int64_t>;

std::string format_offset_checkpoint(const OffsetCheckpoint& offsets);
std::optional<OffsetCheckpoint> parse_offset_checkpoint(std::string_view text);
void write_offset_checkpoint(const std::string& path, const OffsetCheckpoint& offsets);
// Missing file: empty. Malformed file: nullopt (the caller logs and ignores).
std::optional<OffsetCheckpoint> read_offset_checkpoint(const std::string& path);

struct EpochEntry {
  int32_t epoch;
  int64_t start_offset;
  bool operator==(const EpochEntry&) const = default;
};

std::string format_leader_epoch_checkpoint(const std::vector<EpochEntry>& entries);
std::optional<std::vector<EpochEntry>> parse_leader_epoch_checkpoint(std::string_view text);

std::string format_partition_metadata(const protocol::Uuid& topic_id);
std::optional<protocol::Uuid> parse_partition_metadata(std::string_view text);

// Reads a whole small file; nullopt if it does not exist.
std::optional<std::string> read_text_file(const std::string& path);

}  // namespace samsa::log
