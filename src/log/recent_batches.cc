#include "samsa/log/recent_batches.h"

namespace samsa::log {

void RecentBatches::record(const protocol::RecordBatchHeader& header, uint64_t position) {
  std::lock_guard lock(mu_);
  if (slots_.empty()) slots_.resize(kCapacity);
  // Not back to back with the newest one: the positions in between are not
  // described, so the ring restarts here (a scan covers the older ones).
  if (count_ > 0 && at(count_ - 1).end() != position) count_ = 0;
  if (count_ == kCapacity) {
    slots_[head_] = BatchLocation{position, header};
    head_ = (head_ + 1) % kCapacity;
    return;
  }
  slots_[(head_ + count_) % kCapacity] = BatchLocation{position, header};
  ++count_;
}

void RecentBatches::truncate_from(uint64_t position) {
  std::lock_guard lock(mu_);
  while (count_ > 0 && at(count_ - 1).position >= position) --count_;
}

void RecentBatches::clear() {
  std::lock_guard lock(mu_);
  std::vector<BatchLocation>().swap(slots_);
  head_ = 0;
  count_ = 0;
}

size_t RecentBatches::size() const {
  std::lock_guard lock(mu_);
  return count_;
}

std::optional<std::optional<BatchLocation>> RecentBatches::find(int64_t offset,
                                                                uint64_t limit) const {
  std::lock_guard lock(mu_);
  if (count_ == 0) return std::nullopt;
  const BatchLocation& oldest = at(0);
  if (oldest.position != 0 && offset < oldest.header.base_offset) return std::nullopt;
  // Bytes before `limit` past the newest batch are not described here.
  if (at(count_ - 1).end() < limit) return std::nullopt;
  // First batch with last offset >= offset (last offsets grow along the ring).
  size_t lo = 0, hi = count_;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (at(mid).header.last_offset() < offset) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  // Every batch before `limit` ends below the offset, or the first that
  // does not is cut by `limit`: the scan finds nothing either.
  if (lo == count_ || at(lo).end() > limit) return std::optional<BatchLocation>{};
  return std::optional<BatchLocation>{at(lo)};
}

}  // namespace samsa::log
