#include "samsa/raft/consensus/memory_log.h"

#include <algorithm>
#include <stdexcept>

namespace samsa::raft {

Offset MemoryLog::append_as_leader(std::vector<Entry> entries, Epoch epoch) {
  if (epoch < last_fetched_epoch()) throw std::logic_error("append_as_leader with an older epoch");
  Offset base = end_offset();
  for (auto& e : entries) {
    e.epoch = epoch;
    entries_.push_back(std::move(e));
  }
  return base;
}

void MemoryLog::append_as_follower(std::vector<Entry> entries) {
  for (auto& e : entries) {
    if (e.epoch < last_fetched_epoch()) throw std::logic_error("append_as_follower: epochs must not decrease");
    entries_.push_back(std::move(e));
  }
}

void MemoryLog::truncate_to(Offset offset) {
  if (offset < 0 || offset > end_offset()) throw std::logic_error("truncate_to out of range");
  if (offset == end_offset()) return;
  if (on_truncate) on_truncate(offset);
  entries_.resize(static_cast<size_t>(offset));
  flushed_ = std::min(flushed_, offset);
}

std::vector<Entry> MemoryLog::read(Offset from, size_t max_entries) const {
  if (from < 0 || from >= end_offset()) return {};
  size_t n = std::min(max_entries, entries_.size() - static_cast<size_t>(from));
  return {entries_.begin() + from, entries_.begin() + from + static_cast<std::ptrdiff_t>(n)};
}

OffsetAndEpoch MemoryLog::end_offset_for_epoch(Epoch epoch) const {
  // Epochs never decrease along the log: the entries with epoch <= `epoch`
  // form a prefix, and its last entry's epoch is the answer's epoch.
  auto it = std::upper_bound(entries_.begin(), entries_.end(), epoch,
                             [](Epoch e, const Entry& entry) { return e < entry.epoch; });
  if (it == entries_.begin()) return {0, 0};
  return {static_cast<Offset>(it - entries_.begin()), std::prev(it)->epoch};
}

}  // namespace samsa::raft
