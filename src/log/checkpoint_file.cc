#include "samsa/log/checkpoint_file.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "samsa/log/file_handle.h"
#include "samsa/util/file_util.h"

namespace samsa::log {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    if (p == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, p - start));
    start = p + 1;
  }
}

template <typename T>
std::optional<T> parse_int(std::string_view s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// "0\n<n>\n" + n entry lines; returns the entry lines, nullopt if malformed.
std::optional<std::vector<std::string_view>> checkpoint_lines(std::string_view text) {
  if (text.empty() || text.back() != '\n') return std::nullopt;
  auto lines = split(text.substr(0, text.size() - 1), '\n');
  if (lines.size() < 2 || lines[0] != "0") return std::nullopt;
  auto count = parse_int<int64_t>(lines[1]);
  if (!count || *count < 0 || static_cast<size_t>(*count) != lines.size() - 2) return std::nullopt;
  return std::vector<std::string_view>(lines.begin() + 2, lines.end());
}

}  // namespace

std::optional<TopicPartition> TopicPartition::from_dir_name(std::string_view name) {
  size_t dash = name.rfind('-');
  if (dash == std::string_view::npos || dash == 0) return std::nullopt;
  auto partition = parse_int<int32_t>(name.substr(dash + 1));
  if (!partition || *partition < 0) return std::nullopt;
  return TopicPartition{std::string(name.substr(0, dash)), *partition};
}

std::string format_offset_checkpoint(const OffsetCheckpoint& offsets) {
  std::string out = "0\n" + std::to_string(offsets.size()) + "\n";
  for (const auto& [tp, offset] : offsets)
    out += tp.topic + " " + std::to_string(tp.partition) + " " + std::to_string(offset) + "\n";
  return out;
}

std::optional<OffsetCheckpoint> parse_offset_checkpoint(std::string_view text) {
  auto lines = checkpoint_lines(text);
  if (!lines) return std::nullopt;
  OffsetCheckpoint out;
  for (std::string_view line : *lines) {
    auto f = split(line, ' ');
    if (f.size() != 3 || f[0].empty()) return std::nullopt;
    auto partition = parse_int<int32_t>(f[1]);
    auto offset = parse_int<int64_t>(f[2]);
    if (!partition || !offset) return std::nullopt;
    out[TopicPartition{std::string(f[0]), *partition}] = *offset;
  }
  return out;
}

void write_offset_checkpoint(const std::string& path, const OffsetCheckpoint& offsets) {
  util::write_file_atomically(path, format_offset_checkpoint(offsets));
}

std::optional<OffsetCheckpoint> read_offset_checkpoint(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return OffsetCheckpoint{};
  return parse_offset_checkpoint(*text);
}

std::string format_leader_epoch_checkpoint(const std::vector<EpochEntry>& entries) {
  std::string out = "0\n" + std::to_string(entries.size()) + "\n";
  for (const auto& e : entries)
    out += std::to_string(e.epoch) + " " + std::to_string(e.start_offset) + "\n";
  return out;
}

std::optional<std::vector<EpochEntry>> parse_leader_epoch_checkpoint(std::string_view text) {
  auto lines = checkpoint_lines(text);
  if (!lines) return std::nullopt;
  std::vector<EpochEntry> out;
  for (std::string_view line : *lines) {
    auto f = split(line, ' ');
    if (f.size() != 2) return std::nullopt;
    auto epoch = parse_int<int32_t>(f[0]);
    auto offset = parse_int<int64_t>(f[1]);
    if (!epoch || !offset) return std::nullopt;
    out.push_back({*epoch, *offset});
  }
  return out;
}

std::string format_partition_metadata(const protocol::Uuid& topic_id) {
  return "version: 0\ntopic_id: " + topic_id.to_string() + "\n";
}

std::optional<protocol::Uuid> parse_partition_metadata(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  auto lines = split(text, '\n');
  if (lines.size() != 2) return std::nullopt;
  constexpr std::string_view kVersion = "version: ", kTopicId = "topic_id: ";
  if (lines[0].substr(0, kVersion.size()) != kVersion ||
      lines[0].substr(kVersion.size()) != "0")
    return std::nullopt;
  if (lines[1].substr(0, kTopicId.size()) != kTopicId) return std::nullopt;
  return protocol::Uuid::from_string(lines[1].substr(kTopicId.size()));
}

std::optional<std::string> read_text_file(const std::string& path) {
  if (!file_exists(path)) return std::nullopt;
  auto bytes = util::read_file(path);
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace samsa::log
