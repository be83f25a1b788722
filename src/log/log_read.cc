// Log reads: offset -> segment -> index -> header scan, returning a file
// range instead of bytes so the fetch path can sendfile it.
#include "samsa/log/log.h"

namespace samsa::log {

LogResult<FetchRange> Log::read(int64_t offset, size_t max_bytes, bool min_one_message,
                                int64_t max_offset_exclusive) const {
  if (offline()) return log_error(LogErrc::kStorageError, tp_.dir_name() + " is offline after an I/O error");
  FetchRange range;
  std::vector<std::shared_ptr<LogSegment>> candidates;
  {
    std::lock_guard lock(state_mu_);
    range.log_start_offset = log_start_offset_;
    range.log_end_offset = log_end_offset_;
    range.high_watermark = high_watermark_;
    range.last_stable_offset = last_stable_offset_locked();
    if (offset < log_start_offset_ || offset > log_end_offset_)
      return log_error(LogErrc::kOffsetOutOfRange,
                       "offset " + std::to_string(offset) + " is outside [" +
                           std::to_string(log_start_offset_) + ", " +
                           std::to_string(log_end_offset_) + "] of " + tp_.dir_name());
    auto it = segments_.upper_bound(offset);
    if (it != segments_.begin()) --it;
    for (; it != segments_.end(); ++it) candidates.push_back(it->second);
  }
  const int64_t bound = std::min(max_offset_exclusive, range.log_end_offset);
  if (offset >= bound) return range;  // at the end: nothing to send yet

  for (const auto& seg : candidates) {
    // size before next_offset: the offset is then at least as new as the
    // size, so "bound >= next_offset" really covers everything below limit.
    uint64_t limit = seg->size();
    if (bound < seg->next_offset()) {
      if (auto at_bound = seg->translate_offset(bound, limit)) limit = at_bound->position;
    }
    auto first = seg->translate_offset(offset, limit);
    if (!first) continue;  // offset lies past this segment's data
    const uint64_t start = first->position;
    const uint64_t available = limit - start;
    size_t size;
    if (available <= max_bytes) {
      size = available;
    } else {
      size = seg->batch_boundary_at_or_below(start, start + max_bytes) - start;
      // Kafka's rule: an oversized first batch is still returned whole so
      // the consumer can make progress.
      if (size == 0 && min_one_message) size = first->header.size_in_bytes();
    }
    if (size == 0) return range;
    range.file = seg->log_file();
    range.position = start;
    range.size = size;
    range.first_offset = first->header.base_offset;
    return range;
  }
  return range;
}

std::optional<TimestampAndOffset> Log::offset_for_timestamp(int64_t timestamp) const {
  const int64_t start = log_start_offset();
  for (const auto& seg : segments_snapshot()) {
    if (seg->max_timestamp_so_far().timestamp < timestamp) continue;
    if (auto found = seg->find_offset_by_timestamp(timestamp, start)) return found;
  }
  return std::nullopt;
}

TimestampAndOffset Log::max_timestamp_and_offset() const {
  TimestampAndOffset best;
  for (const auto& seg : segments_snapshot()) {
    TimestampAndOffset m = seg->max_timestamp_so_far();
    if (m.timestamp > best.timestamp) best = m;
  }
  return best;
}

}  // namespace samsa::log
