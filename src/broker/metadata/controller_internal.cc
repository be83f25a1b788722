#include "controller_internal.h"

#include <algorithm>

namespace samsa::broker::metadata::detail {

using protocol::ErrorCode;

namespace {
// Kafka's DirectoryId sentinels.
protocol::Uuid directory_sentinel(uint8_t low) {
  protocol::Uuid u;
  u.bytes[15] = low;
  return u;
}
const protocol::Uuid kMigratingDir = directory_sentinel(0);
const protocol::Uuid kUnassignedDir = directory_sentinel(1);
}  // namespace

protocol::Uuid default_dir(const MetadataImage& image, int32_t broker) {
  auto it = image.brokers.find(broker);
  if (it == image.brokers.end()) return kUnassignedDir;
  const auto& dirs = it->second.log_dirs;
  if (dirs.empty()) return kMigratingDir;
  return dirs.size() == 1 ? dirs.front() : kUnassignedDir;
}

std::vector<int32_t> active_replicas(const MetadataImage& image, const std::vector<int32_t>& replicas) {
  std::vector<int32_t> out;
  for (int32_t r : replicas) {
    auto it = image.brokers.find(r);
    if (it != image.brokers.end() && !it->second.fenced && !it->second.in_controlled_shutdown) out.push_back(r);
  }
  return out;
}

RecordAndVersion new_partition_record(const MetadataImage& image, const protocol::Uuid& topic_id, int32_t partition,
                                      const std::vector<int32_t>& replicas, const std::vector<int32_t>& isr) {
  protocol::PartitionRecord r;
  r.partition_id = partition;
  r.topic_id = topic_id;
  r.replicas = replicas;
  r.isr = isr;
  r.leader = isr.front();
  r.leader_recovery_state = 0;
  r.leader_epoch = 0;
  r.partition_epoch = 0;
  int16_t version = partition_record_version(image.metadata_version);
  if (version >= 1)
    for (int32_t b : replicas) r.directories.push_back(default_dir(image, b));
  if (version >= 2) {
    r.eligible_leader_replicas = std::vector<int32_t>{};
    r.last_known_elr = std::vector<int32_t>{};
  }
  return {std::move(r), version};
}

std::optional<ApiError> check_manual_assignment(const MetadataImage& image, const std::vector<int32_t>& replicas,
                                                std::optional<size_t> replication_factor) {
  if (replicas.empty())
    return ApiError{ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                    "The manual partition assignment includes an empty replica list."};
  std::vector<int32_t> sorted = replicas;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (!image.brokers.contains(sorted[i]))
      return ApiError{ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                      "The manual partition assignment includes broker " + std::to_string(sorted[i]) +
                          ", but no such broker is registered."};
    if (i > 0 && sorted[i] == sorted[i - 1])
      return ApiError{ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                      "The manual partition assignment includes the broker " + std::to_string(sorted[i]) +
                          " more than once."};
  }
  if (replication_factor && sorted.size() != *replication_factor)
    return ApiError{ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                    "The manual partition assignment includes a partition with " + std::to_string(sorted.size()) +
                        " replica(s), but this is not consistent with previous partitions, which have " +
                        std::to_string(*replication_factor) + " replica(s)."};
  return std::nullopt;
}

std::optional<std::string> invalid_topic_name(std::string_view name) {
  constexpr size_t kMaxLength = 249;
  std::string why;
  if (name.empty()) {
    why = "the empty string is not allowed";
  } else if (name == ".") {
    why = "'.' is not allowed";
  } else if (name == "..") {
    why = "'..' is not allowed";
  } else if (name.size() > kMaxLength) {
    why = "the length of '" + std::string(name) + "' is longer than the max allowed length " +
          std::to_string(kMaxLength);
  } else if (!std::all_of(name.begin(), name.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-';
             })) {
    why = "'" + std::string(name) + "' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'";
  } else {
    return std::nullopt;
  }
  return "Topic name is invalid: " + why;
}

}  // namespace samsa::broker::metadata::detail
