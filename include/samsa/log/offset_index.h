#pragma once
// <base>.index: sparse map offset -> file position in <base>.log.
// Entry (8 bytes, big-endian): int32 offset relative to the segment base,
// int32 byte position of a batch in the .log file. Kafka stores the *last*
// offset of the batch that starts at that position; offsets and positions
// both strictly increase. One entry is added each time more than
// index.interval.bytes were appended since the previous one.
#include <cstdint>
#include <optional>
#include <string>

#include "samsa/log/index_file.h"

namespace samsa::log {

struct OffsetPosition {
  int64_t offset;     // absolute
  uint32_t position;  // in the .log file
  bool operator==(const OffsetPosition&) const = default;
};

class OffsetIndex : public IndexFile {
 public:
  static constexpr size_t kEntrySize = 8;
  OffsetIndex(std::string path, int64_t base_offset, int32_t max_index_bytes)
      : IndexFile(std::move(path), base_offset, kEntrySize, max_index_bytes) {}

  OffsetPosition entry(size_t i) const;
  // Entry with the largest offset <= target; {base, 0} if none.
  OffsetPosition lookup(int64_t target_offset) const;
  // Entry with the largest position <= position; {base, 0} if none.
  OffsetPosition lookup_by_position(uint64_t position) const;
  std::optional<OffsetPosition> last_entry() const;
  // Requires offset > last offset, position > last position, not full
  // (throws std::logic_error otherwise: a bug in the caller).
  void append(int64_t offset, uint32_t position);
  // Drops entries with offset >= `offset`.
  void truncate_to(int64_t offset);
  // Clean-start checks: strictly increasing offsets >= base and positions
  // below log_size. Returns a reason on failure.
  std::optional<std::string> sanity_check(uint64_t log_size) const;

 private:
  OffsetPosition entry_in(const Mapping& m, size_t i) const;
};

}  // namespace samsa::log
