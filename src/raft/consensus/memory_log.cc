#include "samsa/raft/consensus/memory_log.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace samsa::raft {

size_t MemoryLog::index_of(Offset base) const {
  auto it = std::lower_bound(batches_.begin(), batches_.end(), base,
                             [](const Batch& b, Offset o) { return b.base < o; });
  if (it == batches_.end() || it->base != base) return std::string::npos;
  return static_cast<size_t>(it - batches_.begin());
}

const Entry* MemoryLog::entry_at(Offset base) const {
  size_t i = index_of(base);
  return i == std::string::npos ? nullptr : &batches_[i].entry;
}

void MemoryLog::push(Entry e) {
  if (e.records.empty()) throw std::logic_error("an entry holds at least one record");
  if (e.epoch < last_fetched_epoch()) throw std::logic_error("append: epochs must not decrease");
  Offset base = end_;
  end_ += e.size();
  batches_.push_back(Batch{base, std::move(e)});
}

Offset MemoryLog::append_as_leader(std::vector<Entry> entries, Epoch epoch) {
  if (epoch < last_fetched_epoch()) throw std::logic_error("append_as_leader with an older epoch");
  Offset base = end_;
  for (auto& e : entries) {
    e.epoch = epoch;
    push(std::move(e));
  }
  return base;
}

void MemoryLog::append_as_follower(std::vector<Entry> entries) {
  for (auto& e : entries) push(std::move(e));
}

void MemoryLog::truncate_to(Offset offset) {
  if (offset < 0 || offset > end_) throw std::logic_error("truncate_to out of range");
  if (offset == end_) return;
  size_t i = index_of(offset);
  if (i == std::string::npos) throw std::logic_error("truncate_to inside a batch: " + std::to_string(offset));
  if (on_truncate) on_truncate(offset);
  batches_.resize(i);
  end_ = offset;
  flushed_ = std::min(flushed_, offset);
}

void MemoryLog::crash() {
  size_t i = index_of(flushed_);
  if (i != std::string::npos) batches_.resize(i);
  end_ = flushed_;
}

std::vector<Entry> MemoryLog::read(Offset from, size_t max_entries) const {
  if (from >= end_) return {};
  size_t i = index_of(from);
  if (i == std::string::npos) throw std::logic_error("read inside a batch: " + std::to_string(from));
  std::vector<Entry> out;
  for (; i < batches_.size() && out.size() < max_entries; ++i) out.push_back(batches_[i].entry);
  return out;
}

OffsetAndEpoch MemoryLog::end_offset_for_epoch(Epoch epoch) const {
  // Epochs never decrease along the log: the entries with epoch <= `epoch`
  // form a prefix, and its last entry's epoch is the answer's epoch.
  auto it = std::upper_bound(batches_.begin(), batches_.end(), epoch,
                             [](Epoch e, const Batch& b) { return e < b.entry.epoch; });
  if (it == batches_.begin()) return {0, 0};
  return {std::prev(it)->end(), std::prev(it)->entry.epoch};
}

}  // namespace samsa::raft
