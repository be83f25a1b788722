#include "samsa/log/time_index.h"

namespace samsa::log {

TimestampOffset TimeIndex::entry_in(const Mapping& m, size_t i) const {
  const uint8_t* p = slot(m, i);
  return {get64(p), base_offset_ + get32(p + 8)};
}

TimestampOffset TimeIndex::entry(size_t i) const { return entry_in(*map(), i); }

TimestampOffset TimeIndex::lookup(int64_t target_timestamp) const {
  if (entries() == 0) return {-1, base_offset_};
  auto m = map();
  long i = floor_index(target_timestamp, [&](size_t k) { return entry_in(*m, k).timestamp; });
  return i < 0 ? TimestampOffset{-1, base_offset_} : entry_in(*m, static_cast<size_t>(i));
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
  if (n == 0 && (timestamp <= -1 || offset < base_offset_)) return false;
  prepare_write(n);  // creates the file at the first entry
  auto m = map();
  TimestampOffset last = n > 0 ? entry_in(*m, n - 1) : TimestampOffset{-1, base_offset_};
  if (timestamp <= last.timestamp || offset < last.offset) return false;
  uint8_t* p = slot(*m, n);
  put64(p, timestamp);
  put32(p + 8, static_cast<int32_t>(offset - base_offset_));
  mark_dirty();
  set_entries(n + 1);
  return true;
}

void TimeIndex::truncate_to(int64_t offset) {
  size_t n = entries();
  if (n == 0) return;
  auto m = map();
  while (n > 0 && entry_in(*m, n - 1).offset >= offset) --n;
  set_entries(n);
}

std::optional<std::string> TimeIndex::sanity_check() const {
  if (partial_entry_) return "file length is not a multiple of " + std::to_string(kEntrySize);
  size_t n = entries();
  if (n == 0) return std::nullopt;
  auto m = map();
  for (size_t i = 0; i < n; ++i) {
    TimestampOffset e = entry_in(*m, i);
    if (e.offset < base_offset_) return "offset below base at entry " + std::to_string(i);
    if (i > 0) {
      TimestampOffset prev = entry_in(*m, i - 1);
      if (e.timestamp <= prev.timestamp || e.offset < prev.offset)
        return "entries not increasing at entry " + std::to_string(i);
    }
  }
  return std::nullopt;
}

}  // namespace samsa::log
