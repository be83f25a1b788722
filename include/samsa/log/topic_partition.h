#pragma once
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace samsa::log {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;

  // Directory name "<topic>-<partition>".
  std::string dir_name() const { return topic + "-" + std::to_string(partition); }
  // Inverse of dir_name(): splits at the last '-'.
  static std::optional<TopicPartition> from_dir_name(std::string_view name);

  auto operator<=>(const TopicPartition&) const = default;
  bool operator==(const TopicPartition&) const = default;
};

struct TopicPartitionHash {
  size_t operator()(const TopicPartition& tp) const {
    return std::hash<std::string>()(tp.topic) * 31 + std::hash<int32_t>()(tp.partition);
  }
};

}  // namespace samsa::log
