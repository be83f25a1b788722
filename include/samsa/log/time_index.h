#pragma once
// <base>.timeindex: sparse map timestamp -> offset.
// Entry (12 bytes, big-endian): int64 timestamp, int32 offset relative to the
// segment base. An entry (T, O) says: T is the largest timestamp of any batch
// up to offset O, and O is the last offset of the first batch reaching T.
// Timestamps strictly increase (an entry is only added when the segment's
// max timestamp grew). Written alongside each offset index entry, plus a
// final entry when the segment becomes inactive or is closed.
#include <cstdint>
#include <optional>
#include <string>

#include "samsa/log/index_file.h"

namespace samsa::log {

struct TimestampOffset {
  int64_t timestamp;
  int64_t offset;  // absolute
  bool operator==(const TimestampOffset&) const = default;
};

class TimeIndex : public IndexFile {
 public:
  static constexpr size_t kEntrySize = 12;
  TimeIndex(std::string path, int64_t base_offset, int32_t max_index_bytes)
      : IndexFile(std::move(path), base_offset, kEntrySize, max_index_bytes) {}

  TimestampOffset entry(size_t i) const;
  // Entry with the largest timestamp <= target; {-1, base} if none.
  TimestampOffset lookup(int64_t target_timestamp) const;
  std::optional<TimestampOffset> last_entry() const;
  // Appends when timestamp is larger than the last entry's. Without
  // skip_full_check a full index refuses; with it the reserved last slot is
  // used (the segment's closing entry). Returns whether it appended.
  bool maybe_append(int64_t timestamp, int64_t offset, bool skip_full_check = false);
  // Full for appends while the segment is active: one slot stays free for
  // the closing entry.
  bool full_for_append() const { return entries() + 1 >= max_entries(); }
  void truncate_to(int64_t offset);
  std::optional<std::string> sanity_check() const;

 private:
  TimestampOffset entry_in(const Mapping& m, size_t i) const;
};

}  // namespace samsa::log
