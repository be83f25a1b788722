#pragma once
// Producer state snapshot files, Kafka's ProducerStateManager format, one per
// offset in the partition directory: "<20-digit offset>.snapshot" holds the
// state of every producer as of that offset (everything below it applied).
//
//   int16  version                 = 1
//   uint32 crc                     CRC-32C of every byte after this field
//   int32  count                   number of entries
//   count x entry (46 bytes):
//     int64 producer_id
//     int16 producer_epoch
//     int32 last_sequence          of the producer's last batch; -1 if none
//     int64 last_offset            of that batch; -1 if none
//     int32 offset_delta           last_offset - first offset of that batch
//     int64 timestamp              max timestamp of the producer's last batch
//     int32 coordinator_epoch      -1 without transaction markers
//     int64 current_txn_first_offset  -1 without an open transaction
//
// Big-endian, no padding. Files are replaced atomically (temp, fsync,
// rename); a reader refuses a wrong version, a bad CRC or a size that does
// not match the count.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "samsa/log/log_error.h"

namespace samsa::log {

inline constexpr const char* kProducerSnapshotSuffix = ".snapshot";
inline constexpr int16_t kProducerSnapshotVersion = 1;

struct ProducerSnapshotEntry {
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t last_sequence = -1;
  int64_t last_offset = -1;
  int32_t offset_delta = 0;
  int64_t timestamp = -1;
  int32_t coordinator_epoch = -1;
  int64_t current_txn_first_offset = -1;
  bool operator==(const ProducerSnapshotEntry&) const = default;
};

// "<dir>/<20-digit offset>.snapshot"
std::string producer_snapshot_path(const std::string& dir, int64_t offset);

std::vector<uint8_t> encode_producer_snapshot(const std::vector<ProducerSnapshotEntry>& entries);
// kCorruptMessage for any malformed content.
LogResult<std::vector<ProducerSnapshotEntry>> decode_producer_snapshot(std::span<const uint8_t> bytes);

// Atomic write (throws std::system_error) and read (kStorageError if the
// file cannot be read, kCorruptMessage if it is malformed).
// `sync` false: written without fsync (util::write_file_atomically_unsynced);
// the caller makes it durable later with util::sync_file.
void write_producer_snapshot(const std::string& path, const std::vector<ProducerSnapshotEntry>& entries,
                             bool sync = true);
LogResult<std::vector<ProducerSnapshotEntry>> read_producer_snapshot(const std::string& path);

// Offsets of the snapshot files in `dir`, ascending.
std::vector<int64_t> list_producer_snapshots(const std::string& dir);

}  // namespace samsa::log
