#include "samsa/log/time_index.h"

namespace samsa::log {

TimestampOffset TimeIndex::entry(size_t i) const {
  const uint8_t* p = slot(i);
  return {get64(p), base_offset_ + get32(p + 8)};
}

TimestampOffset TimeIndex::lookup(int64_t target_timestamp) const {
  long i = floor_index(target_timestamp, [this](size_t k) { return entry(k).timestamp; });
  return i < 0 ? TimestampOffset{-1, base_offset_} : entry(static_cast<size_t>(i));
}

std::optional<TimestampOffset> TimeIndex::last_entry() const {
  size_t n = entries();
  if (n == 0) return std::nullopt;
  return entry(n - 1);
}

bool TimeIndex::maybe_append(int64_t timestamp, int64_t offset, bool skip_full_check) {
  size_t n = entries();
  if (n >= max_entries_) return false;
  if (!skip_full_check && full_for_append()) return false;
  // An empty index behaves as if its last entry were (-1, base): "no
  // timestamp" never gets an entry.
  TimestampOffset last = n > 0 ? entry(n - 1) : TimestampOffset{-1, base_offset_};
  if (timestamp <= last.timestamp || offset < last.offset) return false;
  uint8_t* p = writable_slot(n);
  put64(p, timestamp);
  put32(p + 8, static_cast<int32_t>(offset - base_offset_));
  set_entries(n + 1);
  return true;
}

void TimeIndex::truncate_to(int64_t offset) {
  size_t n = entries();
  while (n > 0 && entry(n - 1).offset >= offset) --n;
  set_entries(n);
}

std::optional<std::string> TimeIndex::sanity_check() const {
  if (partial_entry_) return "file length is not a multiple of " + std::to_string(kEntrySize);
  size_t n = entries();
  for (size_t i = 0; i < n; ++i) {
    TimestampOffset e = entry(i);
    if (e.offset < base_offset_) return "offset below base at entry " + std::to_string(i);
    if (i > 0) {
      TimestampOffset prev = entry(i - 1);
      if (e.timestamp <= prev.timestamp || e.offset < prev.offset)
        return "entries not increasing at entry " + std::to_string(i);
    }
  }
  return std::nullopt;
}

}  // namespace samsa::log
