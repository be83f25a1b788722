// Retention: whole segments are deleted from the front of the log when they
// are older than retention.ms, beyond retention.bytes, or wholly below the
// log start offset (DeleteRecords). As in Kafka, a segment is only deletable
// once everything in it is below the high watermark, and the active segment
// may go too (a fresh one is rolled first) unless it is empty.
#include <functional>

#include "samsa/log/leader_epoch_cache.h"
#include "samsa/log/log.h"
#include "samsa/util/file_util.h"
#include "samsa/util/logging.h"

namespace samsa::log {
namespace {

auto retention_logger() { return samsa::logger("samsa.log.UnifiedLog"); }

using SegmentPredicate = std::function<bool(const LogSegment&, const LogSegment* next)>;

}  // namespace

void Log::truncate_epochs_from_start_locked(int64_t start_offset) {
  if (!background_) {
    epochs_->truncate_from_start(start_offset);
    return;
  }
  // Under the append lock: written now, fsynced on the background thread.
  if (epochs_->truncate_from_start(start_offset, /*sync=*/false))
    background_([path = epochs_->path(), on_io_error = on_io_error_] {
      try {
        util::sync_file(path);
      } catch (const std::exception& e) {
        retention_logger()->error("Flushing {} failed: {}", path, e.what());
        if (on_io_error) on_io_error(std::string("leader epoch checkpoint fsync failed: ") + e.what());
      }
    });
}

size_t Log::delete_segments_locked(size_t count, const char* reason) {
  std::vector<std::shared_ptr<LogSegment>> doomed;
  bool roll_first;
  {
    std::lock_guard lock(state_mu_);
    roll_first = count >= segments_.size();
  }
  if (roll_first) {
    write_staged_locked();  // staged appends go with the segment they are in
    roll_locked(log_end_offset());
  }
  int64_t new_start;
  {
    std::lock_guard lock(state_mu_);
    for (size_t i = 0; i < count && segments_.size() > 1; ++i) {
      doomed.push_back(segments_.begin()->second);
      segments_.erase(segments_.begin());
    }
    log_start_offset_ = std::max(log_start_offset_, segments_.begin()->first);
    high_watermark_ = std::max(high_watermark_, log_start_offset_);
    recovery_point_ = std::max(recovery_point_, log_start_offset_);
    durable_offset_ = std::max(durable_offset_, log_start_offset_);
    new_start = log_start_offset_;
  }
  truncate_epochs_from_start_locked(new_start);
  for (const auto& seg : doomed) {
    retention_logger()->info("Deleting segment {} of {} due to {}", seg->log_path(),
                             tp_.dir_name(), reason);
    if (background_after_) {
      // Kafka's asyncDeleteSegment: renamed to *.deleted now (a restart
      // removes those), unlinked after file.delete.delay.ms on the
      // background executor, so readers that just looked the segment up can
      // finish first and the unlink never runs under the append lock.
      seg->rename_to_deleted();  // a failure propagates as an inline delete's would
      background_after_(config_.file_delete_delay_ms, [seg, name = tp_.dir_name()] {
        try {
          seg->remove_deleted_files();
        } catch (const std::exception& e) {
          retention_logger()->warn("Deleting segment {} of {} failed: {}", seg->log_path(), name, e.what());
        }
      });
    } else if (background_) {
      // Unlinking a large segment can take long (the file system frees every
      // extent): done off the append lock, as Kafka deletes segments from its
      // scheduler. The segment already left the log; readers holding it keep
      // working on its files until they are gone.
      background_([seg, name = tp_.dir_name()] {
        try {
          seg->delete_files();
        } catch (const std::exception& e) {
          retention_logger()->warn("Deleting segment {} of {} failed: {}", seg->log_path(), name, e.what());
        }
      });
    } else {
      seg->delete_files();
    }
    // The producer snapshot at its base goes with it (the state in memory
    // stays until producer.id.expiration.ms, as in Kafka since KIP-360).
    producers_->delete_snapshot(seg->base_offset());
  }
  return doomed.size();
}

// Counts the deletable prefix of the log for `pred` and deletes it.
static size_t deletable_prefix(const std::vector<std::shared_ptr<LogSegment>>& segs,
                               int64_t high_watermark, int64_t log_end_offset,
                               const SegmentPredicate& pred) {
  size_t count = 0;
  for (size_t i = 0; i < segs.size(); ++i) {
    const LogSegment* next = i + 1 < segs.size() ? segs[i + 1].get() : nullptr;
    const int64_t upper = next ? next->base_offset() : log_end_offset;
    const bool last_and_empty = !next && segs[i]->size() == 0;
    if (last_and_empty || high_watermark < upper || !pred(*segs[i], next)) break;
    ++count;
  }
  return count;
}

size_t Log::delete_old_segments() {
  std::lock_guard lock(append_mu_);
  if (closed_) return 0;
  size_t deleted = 0;
  const int64_t now = clock_->now_ms();
  auto run = [&](const SegmentPredicate& pred, const char* reason) {
    size_t n = deletable_prefix(segments_snapshot(), high_watermark(), log_end_offset(), pred);
    if (n > 0) deleted += delete_segments_locked(n, reason);
  };
  const int64_t start = log_start_offset();
  run([start](const LogSegment&, const LogSegment* next) {
        return next && next->base_offset() <= start;
      },
      "log start offset breach");
  if (config_.delete_enabled() && config_.retention_ms >= 0) {
    const int64_t retention_ms = config_.retention_ms;
    run([&](const LogSegment& seg, const LogSegment*) {
          return now - seg.largest_timestamp() > retention_ms;
        },
        "retention time breach");
  }
  if (config_.delete_enabled() && config_.retention_bytes >= 0) {
    int64_t excess = static_cast<int64_t>(size_in_bytes()) - config_.retention_bytes;
    run([&](const LogSegment& seg, const LogSegment*) {
          if (excess - static_cast<int64_t>(seg.size()) < 0) return false;
          excess -= static_cast<int64_t>(seg.size());
          return true;
        },
        "retention size breach");
  }
  return deleted;
}

LogResult<int64_t> Log::delete_records_before(int64_t offset) {
  std::lock_guard lock(append_mu_);
  if (closed_) return log_error(LogErrc::kLogClosed, tp_.dir_name() + " is closed");
  {
    std::lock_guard state(state_mu_);
    if (offset > high_watermark_ || offset < 0)
      return log_error(LogErrc::kOffsetOutOfRange,
                       "cannot delete records before " + std::to_string(offset) +
                           ": the high watermark is " + std::to_string(high_watermark_));
    if (offset <= log_start_offset_) return log_start_offset_;
    log_start_offset_ = offset;
  }
  truncate_epochs_from_start_locked(offset);
  try {
    size_t n = deletable_prefix(segments_snapshot(), high_watermark(), log_end_offset(),
                                [offset](const LogSegment&, const LogSegment* next) {
                                  return next && next->base_offset() <= offset;
                                });
    if (n > 0) delete_segments_locked(n, "log start offset breach");
  } catch (const std::exception& e) {
    return fail_io(std::string("deleting records failed: ") + e.what());
  }
  return log_start_offset();
}

}  // namespace samsa::log
