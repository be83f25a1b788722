// Reading and writing "<offset>.snapshot" files (format in producer_snapshot.h).
#include "samsa/log/producer_snapshot.h"

#include <algorithm>
#include <filesystem>

#include "samsa/log/segment.h"
#include "samsa/protocol/crc32c.h"
#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"
#include "samsa/util/env.h"

namespace samsa::log {
namespace {

constexpr size_t kCrcPos = 2;
constexpr size_t kEntriesPos = 6;  // the CRC covers [6, end)
constexpr size_t kEntrySize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;

}  // namespace

std::string producer_snapshot_path(const std::string& dir, int64_t offset) {
  return dir + "/" + offset_file_stem(offset) + kProducerSnapshotSuffix;
}

std::vector<uint8_t> encode_producer_snapshot(const std::vector<ProducerSnapshotEntry>& entries) {
  protocol::WireWriter w;
  w.int16(kProducerSnapshotVersion);
  w.uint32(0);  // CRC, filled in below
  w.int32(static_cast<int32_t>(entries.size()));
  for (const auto& e : entries) {
    w.int64(e.producer_id);
    w.int16(e.producer_epoch);
    w.int32(e.last_sequence);
    w.int64(e.last_offset);
    w.int32(e.offset_delta);
    w.int64(e.timestamp);
    w.int32(e.coordinator_epoch);
    w.int64(e.current_txn_first_offset);
  }
  std::vector<uint8_t> out = w.take();
  const uint32_t crc = protocol::crc32c(std::span<const uint8_t>(out).subspan(kEntriesPos));
  for (int i = 0; i < 4; ++i) out[kCrcPos + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  return out;
}

LogResult<std::vector<ProducerSnapshotEntry>> decode_producer_snapshot(std::span<const uint8_t> bytes) {
  auto corrupt = [](const std::string& why) { return log_error(LogErrc::kCorruptMessage, why); };
  if (bytes.size() < kEntriesPos + 4) return corrupt("snapshot is truncated");
  try {
    protocol::WireReader r(bytes);
    const int16_t version = r.int16();
    if (version != kProducerSnapshotVersion)
      return corrupt("snapshot version " + std::to_string(version) + " is not supported");
    const uint32_t crc = r.uint32();
    if (crc != protocol::crc32c(bytes.subspan(kEntriesPos)))
      return corrupt("snapshot CRC mismatch");
    const int32_t count = r.int32();
    if (count < 0 || r.remaining() != static_cast<size_t>(count) * kEntrySize)
      return corrupt("snapshot size does not match its " + std::to_string(count) + " entries");
    std::vector<ProducerSnapshotEntry> out(static_cast<size_t>(count));
    for (auto& e : out) {
      e.producer_id = r.int64();
      e.producer_epoch = r.int16();
      e.last_sequence = r.int32();
      e.last_offset = r.int64();
      e.offset_delta = r.int32();
      e.timestamp = r.int64();
      e.coordinator_epoch = r.int32();
      e.current_txn_first_offset = r.int64();
    }
    return out;
  } catch (const protocol::DecodeError& e) {
    return corrupt(e.what());
  }
}

void write_producer_snapshot(const std::string& path, const std::vector<ProducerSnapshotEntry>& entries,
                             bool sync) {
  const auto bytes = encode_producer_snapshot(entries);
  if (sync)
    util::write_file_atomically(path, std::span<const uint8_t>(bytes));
  else
    util::write_file_atomically_unsynced(path, std::span<const uint8_t>(bytes));
}

LogResult<std::vector<ProducerSnapshotEntry>> read_producer_snapshot(const std::string& path) {
  std::vector<uint8_t> bytes;
  try {
    bytes = util::read_file(path);
  } catch (const std::exception& e) {
    return log_error(LogErrc::kStorageError, e.what());
  }
  return decode_producer_snapshot(bytes);
}

std::vector<int64_t> list_producer_snapshots(const std::string& dir) {
  const std::string_view suffix = kProducerSnapshotSuffix;
  std::vector<int64_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != 20 + suffix.size() || !name.ends_with(suffix)) continue;
    if (!std::all_of(name.begin(), name.begin() + 20, [](char c) { return c >= '0' && c <= '9'; })) continue;
    out.push_back(std::stoll(name.substr(0, 20)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace samsa::log
