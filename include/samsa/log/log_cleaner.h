#pragma once
// Log compaction (cleanup.policy=compact), after Kafka's LogCleaner.
//
// A compacted log has a clean head and a dirty tail:
//
//   log start ........ first dirty offset ........ first uncleanable offset .. log end
//   |   cleaned before  |  appended since the last   |  active segment, or above   |
//   |                   |  clean ("dirty")           |  the high watermark / the   |
//   |                   |                            |  recovery point / too young |
//
// One pass (Cleaner::clean):
//  1. Build a map key -> latest offset over the dirty section (bounded by
//     log.cleaner.dedupe.buffer.size; when it is full the pass stops early at
//     a batch boundary and the rest stays dirty).
//  2. Rewrite every segment from the log start up to the end of the map: a
//     record is kept unless the map holds a later offset for its key, or it
//     is a tombstone (null value) that was already in the clean head before
//     this pass and whose batch is older than delete.retention.ms. Records
//     without a key are kept. Transactions (cleaner_txns.h): the cleanable
//     range ends at the last stable offset; records of aborted transactions
//     are dropped and never mapped, committed ones are cleaned as others,
//     and a COMMIT/ABORT marker stays until no data of its transaction is
//     left and it is older than delete.retention.ms (an ABORT marker keeps
//     its .txnindex entry in the cleaned segment). Kept records keep their offsets; a rewritten batch keeps its
//     header (base offset, last offset delta, producer id/epoch, base
//     sequence, codec) and is recompressed with its own codec; a batch that
//     loses every record disappears, unless it is one of its producer's
//     retained batches in the producer state: it stays as an empty batch so
//     retries of it are still recognised, also after a restart.
//  3. Small segments are merged (up to segment.bytes / segment.index.bytes)
//     into one "<base>.log.cleaned" (+ indexes), fsynced, renamed to
//     ".swap", and swapped into the log under its append lock
//     (Log::replace_cleaned_segments): the old segments go through the
//     ".deleted" path, the ".swap" files are renamed to their final names.
//     A crash before the ".swap" rename leaves ".cleaned" files (deleted at
//     load); after it, the load completes the swap (log_recovery.cc).
//  4. The end of the map becomes the log's first dirty offset, kept in the
//     log dir's "cleaner-offset-checkpoint" (Kafka's offset checkpoint
//     format, checkpoint_file.h).
//
// LogCleaner owns one thread (log.cleaner.threads=1) that repeatedly cleans
// the compacted log with the highest dirty ratio >= min.cleanable.dirty.ratio
// and sleeps log.cleaner.backoff.ms when there is none.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "samsa/log/checkpoint_file.h"
#include "samsa/log/clock.h"
#include "samsa/log/log.h"

namespace samsa::log {

inline constexpr const char* kCleanerCheckpointFile = "cleaner-offset-checkpoint";

struct CleanerConfig {
  bool enable = true;                            // log.cleaner.enable
  int64_t backoff_ms = 15000;                    // log.cleaner.backoff.ms
  int64_t dedupe_buffer_size = 128 * 1024 * 1024;  // log.cleaner.dedupe.buffer.size
};

// What one pass did.
struct CleanStats {
  bool cleaned = false;          // false: nothing was cleanable
  int64_t first_dirty_offset = -1;
  int64_t end_offset = -1;       // the new first dirty offset (checkpoint)
  size_t segments_before = 0;
  size_t segments_after = 0;
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
  uint64_t records_read = 0;
  uint64_t records_removed = 0;
  uint64_t tombstones_removed = 0;
  bool aborted = false;  // the log changed under the pass (retention, truncation, close)
};

// Where a log's cleanable part ends, and how dirty it is.
struct CleanableRange {
  std::vector<std::shared_ptr<LogSegment>> segments;  // oldest first, none active
  int64_t first_dirty_offset = 0;
  int64_t first_uncleanable_offset = 0;
  uint64_t clean_bytes = 0;
  uint64_t dirty_bytes = 0;
  bool max_lag_exceeded = false;  // max.compaction.lag.ms: clean whatever the ratio
  double dirty_ratio() const {
    const uint64_t total = clean_bytes + dirty_bytes;
    return total == 0 ? 0.0 : static_cast<double>(dirty_bytes) / static_cast<double>(total);
  }
};

// `checkpoint` is the stored first dirty offset (nullopt: never cleaned); an
// offset outside the cleanable range restarts from the log start, as Kafka.
CleanableRange cleanable_range(const Log& log, std::optional<int64_t> checkpoint, int64_t now_ms);

// One compaction pass over one log (Kafka's Cleaner). Holds no state between
// passes; LogCleaner's thread and the tests use it directly.
class Cleaner {
 public:
  Cleaner(CleanerConfig config, std::shared_ptr<Clock> clock);
  // Cleans `log` with [checkpoint, ...) as its dirty section. Throws on I/O
  // errors and undecodable batches (the log is then left as it was, apart
  // from .cleaned/.swap files the next pass or load removes).
  CleanStats clean(Log& log, std::optional<int64_t> checkpoint);
  // Polled between batches: true stops the pass (CleanStats::aborted).
  void set_abort_check(std::function<bool()> check) { abort_check_ = std::move(check); }

 private:
  CleanerConfig config_;
  std::shared_ptr<Clock> clock_;
  std::function<bool()> abort_check_;
};

class LogCleaner {
 public:
  // The logs to consider, each with the index of its dir in log_dirs.
  using LogsFn = std::function<std::vector<std::pair<std::shared_ptr<Log>, size_t>>()>;

  LogCleaner(CleanerConfig config, std::vector<std::string> log_dirs, LogsFn logs,
             std::shared_ptr<Clock> clock);
  ~LogCleaner();
  LogCleaner(const LogCleaner&) = delete;
  LogCleaner& operator=(const LogCleaner&) = delete;

  // Reads each dir's cleaner-offset-checkpoint; starts the thread if enabled.
  void startup();
  // Stops the thread (a running pass is aborted between batches).
  void shutdown();
  // New settings (dynamic log.cleaner.* configs), as Kafka's LogCleaner
  // reconfigure does it: the thread stops (a running pass is aborted and
  // redone later), takes them and starts again if the cleaner is started
  // and enabled. Not concurrent with startup/shutdown/clean_dirtiest calls
  // of its own thread's caller.
  void reconfigure(const CleanerConfig& config);
  CleanerConfig config() const;

  // One round of the thread: cleans the dirtiest eligible log. Returns its
  // stats, or nullopt if no log was dirty enough.
  std::optional<CleanStats> clean_dirtiest();
  // The partition is going away: waits for a pass over it to stop, forgets
  // its checkpoint and never picks this log again.
  void remove(const std::shared_ptr<Log>& log);
  std::optional<int64_t> checkpoint_of(const TopicPartition& tp) const;
  // An I/O error (std::system_error) while cleaning a log or writing a dir's
  // checkpoint: reported with the dir's index, which goes offline (Kafka's
  // LogCleaner does the same). Set before startup().
  void set_io_error_handler(std::function<void(size_t dir_index, const std::string& why)> handler) {
    on_io_error_ = std::move(handler);
  }

 private:
  void run();
  void start_thread();
  void stop_thread();
  void write_checkpoint(size_t dir_index);

  CleanerConfig config_;
  std::vector<std::string> log_dirs_;
  LogsFn logs_;
  std::shared_ptr<Clock> clock_;
  Cleaner cleaner_;

  mutable std::mutex mu_;  // the fields below
  std::condition_variable cv_;
  std::vector<OffsetCheckpoint> checkpoints_;  // per dir
  // Logs, not names: a re-created partition is a new Log and is cleaned.
  std::vector<std::weak_ptr<Log>> removed_;
  std::vector<std::weak_ptr<Log>> uncleanable_;  // a pass failed: skipped until restart
  const Log* in_progress_ = nullptr;
  std::mutex checkpoint_write_mu_;
  std::atomic<bool> abort_current_{false};
  bool stop_ = false;
  mutable std::mutex lifecycle_mu_;  // startup / shutdown / reconfigure; config_ and cleaner_ change only under it
  bool started_ = false;     // between startup() and shutdown()
  std::function<void(size_t, const std::string&)> on_io_error_;
  std::thread thread_;
};

}  // namespace samsa::log
