// The Log's side of compaction (log_cleaner.h): which segments the cleaner
// may read, and the swap of a cleaned segment into the segment map. The
// cleaner does all the long I/O without any of the log's locks; only the
// swap takes the append lock, so it is serialised with appends, roll,
// retention and truncation.
#include <algorithm>
#include <filesystem>

#include "samsa/log/log.h"
#include "samsa/util/logging.h"

namespace samsa::log {
namespace {

auto compaction_logger() { return samsa::logger("samsa.log.LogCleaner"); }

}  // namespace

Log::CleanableSegments Log::cleanable_segments() const {
  std::lock_guard lock(state_mu_);
  CleanableSegments out;
  out.first_uncleanable_offset = segments_.rbegin()->first;
  // Never past an open transaction (Kafka: the cleanable range ends at the
  // last stable offset), so every transaction the cleaner meets has ended.
  const int64_t bound = std::min({high_watermark_, recovery_point_, last_stable_offset_locked()});
  for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
    if (std::next(it)->first > bound) {
      out.first_uncleanable_offset = it->first;
      break;
    }
    out.segments.push_back(it->second);
  }
  return out;
}

bool Log::replace_cleaned_segments(const std::vector<std::shared_ptr<LogSegment>>& old) {
  if (old.empty()) return false;
  const int64_t base = old.front()->base_offset();
  std::lock_guard lock(append_mu_);
  if (closed_) return false;
  {
    std::lock_guard state(state_mu_);
    for (const auto& seg : old) {
      auto it = segments_.find(seg->base_offset());
      if (it == segments_.end() || it->second != seg) return false;
    }
    if (segments_.rbegin()->second == old.back()) return false;  // never the active segment
  }
  // Point of no return: "<base>.log.swap" exists, so a crash from here on is
  // completed by the next load. The old files go first (readers keep their
  // descriptors), then the .swap files take their names, the .log last.
  for (const auto& seg : old) seg->delete_files();
  const std::string stem = dir_ + "/" + offset_file_stem(base);
  rename_file(stem + kIndexSuffix + kSwapSuffix, stem + kIndexSuffix);
  rename_file(stem + kTimeIndexSuffix + kSwapSuffix, stem + kTimeIndexSuffix);
  if (file_exists(stem + kTxnIndexSuffix + kSwapSuffix))
    rename_file(stem + kTxnIndexSuffix + kSwapSuffix, stem + kTxnIndexSuffix);
  rename_file(stem + kLogSuffix + kSwapSuffix, stem + kLogSuffix);
  fsync_dir(dir_);
  // Reopened under its final names, so later deletes rename the right files.
  auto fresh = LogSegment::open(dir_, base, config_, clock_->now_ms());
  if (auto bad = fresh->load_end_state()) {
    compaction_logger()->warn("Cleaned segment {} failed its checks ({}), rebuilding its indexes",
                              fresh->log_path(), *bad);
    fresh->recover(nullptr);
  }
  // Opening preallocates an index that has no entries: trim it again.
  fresh->on_become_inactive();
  {
    std::lock_guard state(state_mu_);
    for (const auto& seg : old) segments_.erase(seg->base_offset());
    segments_[base] = fresh;
  }
  // As when retention deletes a segment: its producer snapshot goes with it
  // (the one named by `base` still describes the same offset).
  for (const auto& seg : old) {
    if (seg->base_offset() != base) producers_->delete_snapshot(seg->base_offset());
  }
  return true;
}

}  // namespace samsa::log
