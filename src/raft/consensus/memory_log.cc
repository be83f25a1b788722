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
  if (offset < start_.offset || offset > end_) throw std::logic_error("truncate_to out of range");
  if (offset == end_) return;
  size_t i = index_of(offset);
  if (i == std::string::npos) throw std::logic_error("truncate_to inside a batch: " + std::to_string(offset));
  if (on_truncate) on_truncate(offset);
  batches_.resize(i);
  end_ = offset;
  flushed_ = std::min(flushed_, offset);
}

void MemoryLog::crash() {
  flushed_ = std::max(flushed_, start_.offset);  // below the start lives in a durable snapshot
  size_t i = index_of(flushed_);
  if (i != std::string::npos) batches_.resize(i);
  end_ = flushed_;
}

std::optional<OffsetAndEpoch> MemoryLog::latest_snapshot() const {
  if (snapshots_.empty()) return std::nullopt;
  return snapshots_.rbegin()->second.first;
}

std::optional<std::string> MemoryLog::read_snapshot(OffsetAndEpoch id) const {
  auto it = snapshots_.find(id.offset);
  if (it == snapshots_.end() || !(it->second.first == id)) return std::nullopt;
  return it->second.second;
}

void MemoryLog::store_snapshot(OffsetAndEpoch id, std::string content) {
  if (id.offset < start_.offset) throw std::logic_error("store_snapshot below the log start");
  snapshots_[id.offset] = {id, std::move(content)};
}

void MemoryLog::trim_to_snapshot() {
  auto latest = latest_snapshot();
  if (!latest || latest->offset <= start_.offset) return;
  if (latest->offset > end_) throw std::logic_error("trim_to_snapshot past the log end");
  size_t i = latest->offset == end_ ? batches_.size() : index_of(latest->offset);
  if (i == std::string::npos) throw std::logic_error("snapshot offset inside a batch");
  batches_.erase(batches_.begin(), batches_.begin() + static_cast<std::ptrdiff_t>(i));
  start_ = *latest;
  flushed_ = std::max(flushed_, start_.offset);
  // The snapshot before stays readable: a follower may be fetching it chunk
  // by chunk (it would otherwise start over, and could forever, against a
  // leader that snapshots faster than one transfer). Older ones go.
  while (snapshots_.size() > 2 && snapshots_.begin()->first < start_.offset) snapshots_.erase(snapshots_.begin());
}

void MemoryLog::reset_to_snapshot(OffsetAndEpoch id) {
  if (!read_snapshot(id)) throw std::logic_error("reset_to_snapshot: no such snapshot");
  batches_.clear();
  start_ = id;
  end_ = flushed_ = id.offset;
  snapshots_.erase(snapshots_.begin(), snapshots_.find(id.offset));
  snapshots_.erase(snapshots_.upper_bound(id.offset), snapshots_.end());
  if (on_reset) on_reset(id);
}

std::vector<Entry> MemoryLog::read(Offset from, size_t max_entries) const {
  if (from >= end_) return {};
  if (from < start_.offset) throw std::logic_error("read below the log start");
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
  // No remaining entry answers: the snapshot the log starts after does (its
  // id; {0, 0} when nothing was ever trimmed).
  if (it == batches_.begin()) return start_;
  return {std::prev(it)->end(), std::prev(it)->entry.epoch};
}

}  // namespace samsa::raft
