#pragma once
// The records the group coordinator keeps in __consumer_offsets, in Kafka's
// own key/value formats (coordinator/OffsetCommitKey/Value,
// GroupMetadataKey/Value): each record's key starts with an int16 key
// version that says what it is (0/1 offset commit, 2 group metadata), the
// value with an int16 value version. A null value is a tombstone.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace samsa::broker::group {

// A committed offset as stored (OffsetCommitValue).
struct OffsetAndMetadata {
  int64_t offset = -1;
  int32_t leader_epoch = -1;  // -1: unknown
  std::string metadata;
  int64_t commit_timestamp_ms = -1;
  std::optional<int64_t> expire_timestamp_ms;  // v1 values only (explicit retention)
  bool operator==(const OffsetAndMetadata&) const = default;
};

// One member of a classic group as stored (GroupMetadataValue.MemberMetadata).
struct MemberRecord {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = -1;
  int32_t session_timeout_ms = 0;
  std::vector<uint8_t> subscription;  // the selected protocol's metadata
  std::vector<uint8_t> assignment;
  bool operator==(const MemberRecord&) const = default;
};

// A classic group as stored (GroupMetadataValue).
struct GroupRecord {
  std::string protocol_type;
  int32_t generation = 0;
  std::optional<std::string> protocol;
  std::optional<std::string> leader;
  int64_t current_state_timestamp_ms = -1;
  std::vector<MemberRecord> members;
  bool operator==(const GroupRecord&) const = default;
};

// One __consumer_offsets record, decoded. Exactly one of the two kinds:
// - offset commit: group_id, topic, partition; `offset` null = tombstone
// - group metadata: group_id; `group` null = tombstone (group deleted)
struct CoordinatorRecord {
  enum class Kind { kOffsetCommit, kGroupMetadata };
  Kind kind = Kind::kOffsetCommit;
  std::string group_id;
  std::string topic;       // offset commits only
  int32_t partition = -1;  // offset commits only
  std::optional<OffsetAndMetadata> offset;
  std::optional<GroupRecord> group;

  static CoordinatorRecord offset_commit(std::string group_id, std::string topic, int32_t partition,
                                         std::optional<OffsetAndMetadata> value);
  static CoordinatorRecord group_metadata(std::string group_id, std::optional<GroupRecord> value);
  bool operator==(const CoordinatorRecord&) const = default;
};

// Key bytes: OffsetCommitKey version 1, GroupMetadataKey version 2.
std::vector<uint8_t> encode_key(const CoordinatorRecord& record);
// Value bytes, nullopt for a tombstone. OffsetCommitValue version 3, or
// version 1 when an expire timestamp is set (as Kafka writes them);
// GroupMetadataValue version 3.
std::optional<std::vector<uint8_t>> encode_value(const CoordinatorRecord& record);

// Decodes one record. nullopt for keys this coordinator does not own
// (KIP-848 consumer-group, share-group and unknown key versions), which
// loading skips. Throws protocol::DecodeError for malformed bytes.
std::optional<CoordinatorRecord> decode_record(std::span<const uint8_t> key,
                                               std::optional<std::span<const uint8_t>> value);

// Kafka's partitionFor: abs(Java String.hashCode(group_id)) % partitions
// (Utils.abs maps INT_MIN to 0). Hashes the UTF-16 code units as Java does.
int32_t partition_for(const std::string& group_id, int32_t partitions);

}  // namespace samsa::broker::group
