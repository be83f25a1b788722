// LogSegment's staged appends: a produce turn stages its batches here and
// writes them with one gather write at the end of the turn (log.h). The
// page cache charges per write call and per partly written page, so one
// 160 KiB write costs far less than ten 16 KiB ones (bench/README.md).
#include "samsa/log/segment.h"

namespace samsa::log {

void LogSegment::stage(std::span<const uint8_t> bytes, std::span<const protocol::BatchView> batches,
                       std::shared_ptr<const void> owner) {
  if (bytes.empty()) return;
  if (size() + staged_bytes_ == 0) {  // as append() at position 0
    int64_t max_ts = -1;
    for (const auto& b : batches) max_ts = std::max(max_ts, b.header.max_timestamp);
    rolling_based_timestamp_ = max_ts;
  }
  staged_pieces_.push_back(bytes);
  staged_owners_.push_back(std::move(owner));
  for (const auto& b : batches) staged_headers_.push_back(b.header);
  staged_bytes_ += bytes.size();
}

void LogSegment::drop_staged() {
  staged_pieces_.clear();
  staged_owners_.clear();
  staged_headers_.clear();
  staged_bytes_ = 0;
}

void LogSegment::write_staged() {
  if (staged_pieces_.empty()) return;
  struct Clear {
    LogSegment& s;
    ~Clear() { s.drop_staged(); }
  } clear{*this};
  uint64_t position = size();
  log_file()->pwrite_gather(staged_pieces_, position);
  for (const auto& h : staged_headers_) {
    note_batch(h, position);
    position += h.size_in_bytes();
  }
  next_offset_.store(staged_headers_.back().next_offset(), std::memory_order_release);
  size_.store(position, std::memory_order_release);  // publish last
}

}  // namespace samsa::log
