#pragma once
// One partition's log: a directory "<topic>-<partition>" holding segments
// (segment.h), leader-epoch-checkpoint and partition.metadata
// (checkpoint_file.h). Kafka's UnifiedLog is the model.
//
// Threads: appends (and roll, retention, truncation) are serialised by a
// per-log append lock. Reads never take it: they snapshot the segment map
// and end offsets under a short state lock that is never held across I/O,
// so a read never waits behind a write or an fsync. The log end offset is
// published only after the bytes and index entries are written.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "samsa/log/batch_validator.h"
#include "samsa/log/clock.h"
#include "samsa/log/file_handle.h"
#include "samsa/log/group_commit.h"
#include "samsa/log/leader_epoch_cache.h"
#include "samsa/log/log_config.h"
#include "samsa/log/log_error.h"
#include "samsa/log/producer_state.h"
#include "samsa/log/segment.h"
#include "samsa/log/topic_partition.h"
#include "samsa/log/txn_index.h"
#include "samsa/protocol/uuid.h"

namespace samsa::log {

// A byte range of one segment file to send as is (sendfile/pread): whole
// batches only. `file` keeps the descriptor open for as long as the reader
// holds it, even if retention deletes the segment meanwhile.
struct FetchRange {
  std::shared_ptr<FileHandle> file;  // null when size == 0
  uint64_t position = 0;
  size_t size = 0;
  int64_t first_offset = -1;  // base offset of the first batch in the range
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  int64_t high_watermark = 0;
  int64_t last_stable_offset = 0;
};

struct LogOpenOptions {
  std::string dir;  // the partition directory
  TopicPartition tp;
  protocol::Uuid topic_id;  // zero: unknown (no partition.metadata written)
  LogConfig config;
  std::shared_ptr<Clock> clock;  // SystemClock if null
  bool clean_shutdown = false;   // the log dir had .kafka_cleanshutdown
  int64_t recovery_point = 0;    // from recovery-point-offset-checkpoint
  int64_t log_start_offset = 0;  // from log-start-offset-checkpoint
  // From replication-offset-checkpoint (clamped to the loaded log). A
  // replicated log must not start with its log end as high watermark: a
  // follower's tail may never have been replicated (and a consumer could
  // see records the new leader truncates). nullopt: the log end, for a log
  // no replica manager owns.
  std::optional<int64_t> high_watermark;
  // false: a new log's partition.metadata is written without fsync and the
  // caller makes it durable later (LogManager syncs new logs in the
  // background, as Kafka flushes that file asynchronously).
  bool sync_partition_metadata = true;
  // Where slow file work goes, off the appending thread as Kafka schedules
  // it: the fsync of the producer snapshot a roll writes, and the unlinking
  // of segments retention deletes. Unset: done inline. Jobs must not
  // reference the Log (they may run after it closed).
  std::function<void(std::function<void()>)> background;
  // The same executor, running a job after a delay: retention renames a
  // deleted segment's files to *.deleted at once and unlinks them after
  // file.delete.delay.ms, as Kafka does. Unset: unlinked as soon as
  // `background` runs the job.
  std::function<void(int64_t delay_ms, std::function<void()>)> background_after;
  // Called once, with the cause, when a write, fsync or truncation of this
  // log fails (Kafka's LogDirFailureChannel): the log is offline from then
  // on and its owner takes the whole log dir offline. May run on any thread
  // that appends, under the log's append lock: it must not call back into
  // this log except mark_offline().
  std::function<void(const std::string&)> on_io_error;
  // Where a leader append's durable-mode flush runs (flush.messages reached,
  // group_commit.h): posts a job on a flush thread (a Flusher). Unset: the
  // append flushes inline, as before. Jobs must not reference the Log (they
  // may run after it closed).
  std::function<void(std::function<void()>)> flusher;
};

class Log {
 public:
  // Creates the directory if needed, loads (and if unclean, recovers) the
  // segments. Errors: kInconsistentTopicId, kStorageError.
  static LogResult<std::shared_ptr<Log>> open(LogOpenOptions options);
  ~Log();

  // --- writes ---
  // Validates and appends a produce request's batches with one write.
  // Batches with a producer id are checked against the producer state
  // first: a retry of one of the producer's last five batches is answered
  // with the original offsets (AppendInfo::duplicate, nothing written); a
  // sequence gap or an old epoch fails (kOutOfOrderSequence,
  // kInvalidProducerEpoch) and nothing is written.
  //
  // Transactions: a transactional batch opens its producer's transaction
  // here unless one is open; a marker (control batch, origin kCoordinator)
  // ends it (producer_state.h for the checks). `verification_guard` (KIP-890
  // part 1): nullopt when partition verification is not in force; else a
  // batch that would open a transaction is refused (kInvalidTxnState) unless
  // the guard is the one start_txn_verification() handed out for its
  // producer and no marker came since.
  //
  // Durability (flush.messages, or samsa.fsync.per.append which means 1):
  // when the append makes the unflushed count reach flush.messages, it is
  // flushed before this returns, or, with a `flusher`, a flush is only
  // requested and AppendInfo::awaits_flush is set: the caller answers once
  // durable_offset() > last_offset (set_durable_listener tells it when to
  // look again). A duplicate whose original is not durable yet waits the same.
  //
  // Staging: with a `stage_owner` (which keeps `batches` alive), the append
  // may be staged instead of written (AppendInfo::staged): validated, given
  // its offsets and entered in the producer state as usual, but neither
  // written nor visible to readers (log_end_offset(), read(), the high
  // watermark) until write_staged() writes every append staged so far with
  // one gather write. Any other write to the log (an unstaged or follower
  // append, roll, truncation, retention, close) writes what is staged
  // first. Not staged when every append must reach the disk at once
  // (flush.messages, samsa.fsync.per.append).
  LogResult<AppendInfo> append_as_leader(std::span<uint8_t> batches, int32_t leader_epoch,
                                         AppendOrigin origin = AppendOrigin::kClient,
                                         std::optional<uint64_t> verification_guard = std::nullopt,
                                         std::shared_ptr<const void> stage_owner = nullptr);
  // Makes a staged append that ends at `end_offset` (exclusive) readable:
  // writes everything staged unless that already happened. Returns the log
  // end. A failed write takes the log offline (kStorageError); a log closed
  // for deletion meanwhile answers kLogClosed.
  LogResult<int64_t> write_staged(int64_t end_offset);
  // Replicated batches (offsets assigned by the leader, must increase). A
  // follower flushes inline when flush.messages is reached (as Kafka's), so
  // the log end it reports to the leader is durable.
  LogResult<AppendInfo> append_as_follower(std::span<const uint8_t> batches);
  // Drops everything at or after `offset` (follower divergence).
  LogResult<int64_t> truncate_to(int64_t offset);
  // Drops every segment and starts the log again, empty, at `offset` (a
  // follower whose fetch offset fell below the leader's log start, Kafka's
  // truncateFullyAndStartAt): log start = log end = high watermark =
  // recovery point = offset; leader epochs and producer state are cleared.
  LogResult<int64_t> truncate_fully_and_start_at(int64_t offset);

  // --- reads ---
  // Whole batches starting with the one that holds `offset`, at most
  // max_bytes (or exactly the first batch if it is larger and
  // min_one_message), none at or past max_offset_exclusive. Reading at the
  // bound returns an empty range; outside [log start, log end]:
  // kOffsetOutOfRange.
  LogResult<FetchRange> read(int64_t offset, size_t max_bytes, bool min_one_message,
                             int64_t max_offset_exclusive) const;
  // ListOffsets by timestamp: the earliest record with timestamp >= ts;
  // nullopt if there is none.
  std::optional<TimestampAndOffset> offset_for_timestamp(int64_t timestamp) const;
  // ListOffsets MAX_TIMESTAMP (batch-level offset); {-1, -1} when empty.
  TimestampAndOffset max_timestamp_and_offset() const;

  int64_t log_start_offset() const;
  int64_t log_end_offset() const;
  int64_t high_watermark() const;
  // Kafka's last stable offset: min(high watermark, first offset of a
  // transaction still open or whose marker is not yet below the high
  // watermark). read_committed consumers read below it.
  int64_t last_stable_offset() const;
  // Everything below it is fsynced, segments and indexes: a recovery after
  // a crash starts there.
  int64_t recovery_point() const;
  // Everything below it is fsynced as far as the segments' data goes (>=
  // the recovery point): what a durable-mode append waits for. Group commits
  // fsync only the segment files, the indexes follow with flush().
  int64_t durable_offset() const;
  // Called on a flush thread, with no lock held, after each background
  // flush (a failed one too: offline() then says so). The partition's owner
  // re-checks its durable waits and high watermark there. Set once, before
  // the first append.
  void set_durable_listener(std::function<void()> listener);
  // Clamped to [log start, log end].
  void set_high_watermark(int64_t offset);
  // Moves it up to `offset` (clamped), never down. For an acknowledged
  // append: its own end, not the log end. While a requested durable-mode
  // flush is pending it stops at the durable offset: consumers see only
  // what is on disk, as when Kafka flushes inside the append.
  void advance_high_watermark(int64_t offset);

  // --- retention ---
  // retention.ms / retention.bytes (delete policy) and the log start offset;
  // returns the number of segments deleted.
  size_t delete_old_segments();
  // DeleteRecords: moves the log start offset (must be <= high watermark,
  // else kOffsetOutOfRange) and deletes the segments wholly below it.
  LogResult<int64_t> delete_records_before(int64_t offset);

  // --- durability ---
  void flush();  // everything; moves the recovery point to the log end
  void flush_up_to(int64_t offset_exclusive);
  // flush.ms and pending flushes of rolled segments; for a periodic task.
  void maybe_flush(int64_t now_ms);
  void roll();
  // Flush, final index entries, trim. The log refuses appends afterwards.
  void close();
  // The partition is being deleted (LogManager renames and removes the
  // directory): appends fail from now on, open readers keep their files.
  void mark_deleted();

  // --- failures ---
  // An I/O error was seen here or in the log dir: appends and reads answer
  // kStorageError (KAFKA_STORAGE_ERROR) and close() writes nothing. Lock-free.
  void mark_offline();
  bool offline() const { return offline_.load(std::memory_order_acquire); }

  // --- transactions ---
  // The aborted transactions that overlap [start, upper) (the .txnindex of
  // the segment holding `start` and the later ones, as far as needed).
  std::vector<AbortedTxn> collect_aborted_transactions(int64_t start, int64_t upper) const;
  // Whether `producer_id` has a transaction open on this partition (at
  // `producer_epoch`: a transactions v2 producer's next transaction has the
  // next epoch, and must be added to it with its coordinator even while the
  // marker of the one before is still on its way here).
  bool has_ongoing_txn(int64_t producer_id) const;
  bool has_ongoing_txn(int64_t producer_id, int16_t producer_epoch) const;
  // KIP-890's VerificationGuard: a fresh token for `producer_id`, kept until
  // its next marker; the append of the verified batch must present it.
  uint64_t start_txn_verification(int64_t producer_id);

  // --- idempotent producers ---
  std::vector<ProducerStateEntry> active_producers() const;
  // producer.id.expiration.ms; returns how many producers were dropped.
  size_t remove_expired_producers();
  std::optional<int64_t> latest_producer_snapshot_offset() const;

  // --- compaction (log_cleaner.h, log_compaction.cc) ---
  struct CleanableSegments {
    std::vector<std::shared_ptr<LogSegment>> segments;  // oldest first
    int64_t first_uncleanable_offset = 0;  // base of the first segment not in `segments`
  };
  // The inactive segments wholly below the high watermark and the recovery
  // point: their bytes no longer change.
  CleanableSegments cleanable_segments() const;
  // Swaps in the cleaned segment whose files "<base>.{log,index,timeindex}.swap"
  // replace `old` (consecutive, oldest first, base == old.front()'s base),
  // under the append lock. Returns false, changing nothing, if any of `old`
  // is no longer in the log (retention, truncation) or the log is closed.
  // Throws on I/O errors after the point of no return (the next load
  // completes the swap from the .swap files).
  bool replace_cleaned_segments(const std::vector<std::shared_ptr<LogSegment>>& old);

  // --- introspection ---
  const std::string& dir() const { return dir_; }
  const TopicPartition& topic_partition() const { return tp_; }
  const protocol::Uuid& topic_id() const { return topic_id_; }
  LogConfig config() const;
  void update_config(const LogConfig& config);
  LeaderEpochCache& leader_epoch_cache() { return *epochs_; }
  std::vector<int64_t> segment_base_offsets() const;
  uint64_t size_in_bytes() const;
  // Flushes that fsynced something (inline and background).
  uint64_t fsync_count() const { return fsyncs_.load(std::memory_order_relaxed); }
  // Background group-commit flushes (flusher set).
  uint64_t group_commit_count() const { return committer_.fsync_count(); }

 private:
  explicit Log(LogOpenOptions options);
  // log_recovery.cc
  void load_segments(bool clean_shutdown, int64_t recovery_point);
  // Returns the names left in the directory.
  std::set<std::string> remove_temp_files();
  // Returns whether it changed the directory.
  bool complete_interrupted_swaps(const std::set<std::string>& names);
  // log.cc
  std::shared_ptr<LogSegment> active_segment() const;
  std::vector<std::shared_ptr<LogSegment>> segments_snapshot() const;
  void roll_locked(int64_t new_base);
  // `leader`: a durable-mode flush may be left to the flusher.
  LogResult<AppendInfo> append_validated(std::span<const uint8_t> bytes, ValidatedAppend& v, bool leader,
                                         std::shared_ptr<const void> stage_owner = nullptr);
  // The offset the next append starts at: past what is staged. REQUIRES: append_mu_.
  int64_t next_offset_locked() const { return staged_end_ >= 0 ? staged_end_ : log_end_offset(); }
  // Writes and publishes what is staged; throws on a write error (the
  // caller fails the log). REQUIRES: append_mu_.
  void write_staged_locked();
  // The same, turning an error into fail_io's.
  std::optional<LogError> write_staged_or_fail_locked();
  // Asks the flusher for everything below `offset`. REQUIRES: append_mu_, not state_mu_.
  void request_flush_locked(int64_t offset);
  // The group committer's sync: fsyncs the segment files' data below `end`
  // and moves the durable offset; a failure takes the log offline.
  void sync_for_commit(int64_t end);
  void notify_durable();
  // Resumes the committer a truncation stopped.
  struct CommitterResume {
    GroupCommitter& committer;
    ~CommitterResume() { committer.resume(); }
  };
  // Forgets what is staged (the log is offline or deleted). REQUIRES: append_mu_.
  void drop_staged_locked();
  void publish_end_locked(int64_t leo);
  // Marks the log offline and reports the cause once; returns the error.
  LogError fail_io(const std::string& what);
  // fsync of the partition dir if a segment file was created since the last.
  void sync_dir_if_needed();
  // log_producers.cc
  void load_producer_state(bool clean_shutdown);
  void rebuild_producer_state_locked(bool clean_shutdown);
  void snapshot_producers_locked(int64_t offset, bool sync = true);
  // Starts and ends transactions for the last stable offset and writes the
  // .txnindex entries of aborted ones (log_txns.cc); clears the started /
  // completed lists of `updates`.
  void track_txns_locked(ProducerAppendUpdates& updates);
  // The ongoing transactions from the producer state (after a reload).
  void reset_txns_locked();
  int64_t last_stable_offset_locked() const;  // REQUIRES: state_mu_
  void prune_replicated_txns_locked();        // REQUIRES: state_mu_
  // The leader epoch cache forgets epochs before start_offset; with a
  // background executor its checkpoint's fsync is handed over.
  void truncate_epochs_from_start_locked(int64_t start_offset);
  // The duplicate of a retried batch, if any; else the changes are staged.
  LogResult<std::optional<ProducerBatch>> check_producers_locked(const ValidatedAppend& v, AppendOrigin origin,
                                                                 ProducerAppendUpdates& updates) const;
  // kInvalidTxnState when a batch opens a transaction without the guard.
  std::optional<LogError> check_verification_locked(const ProducerAppendUpdates& updates,
                                                    std::optional<uint64_t> guard) const;
  // log_retention.cc
  size_t delete_segments_locked(size_t count, const char* reason);

  const std::string dir_;
  const TopicPartition tp_;
  protocol::Uuid topic_id_;
  std::shared_ptr<Clock> clock_;
  std::function<void(std::function<void()>)> background_;  // LogOpenOptions::background
  std::function<void(int64_t, std::function<void()>)> background_after_;  // LogOpenOptions::background_after
  std::unique_ptr<LeaderEpochCache> epochs_;
  std::unique_ptr<ProducerStateManager> producers_;  // under append_mu_
  std::map<int64_t, uint64_t> verification_guards_;  // producer id -> guard, under append_mu_
  uint64_t next_verification_guard_ = 1;             // under append_mu_
  // Offset of the first control batch a recovery re-validated (load only).
  std::optional<int64_t> first_recovered_marker_;
  std::function<void(const std::string&)> on_io_error_;
  std::function<void(std::function<void()>)> flusher_;  // LogOpenOptions::flusher
  std::weak_ptr<Log> self_;  // for the flush jobs
  std::mutex listener_mu_;
  std::function<void()> durable_listener_;  // under listener_mu_
  std::atomic<uint64_t> fsyncs_{0};
  GroupCommitter committer_;
  std::atomic<bool> offline_{false};
  std::atomic<bool> dir_entries_unsynced_{false};

  mutable std::mutex append_mu_;  // writers, roll, retention, truncation
  mutable std::mutex state_mu_;   // short: the fields below, no I/O inside
  LogConfig config_;
  std::map<int64_t, std::shared_ptr<LogSegment>> segments_;
  int64_t log_start_offset_ = 0;
  const std::optional<int64_t> initial_high_watermark_;  // LogOpenOptions::high_watermark, for loading
  int64_t log_end_offset_ = 0;
  int64_t high_watermark_ = 0;
  // Transactions holding the last stable offset back: open ones (first
  // offset -> producer id) and ended ones whose marker is not yet below the
  // high watermark (Kafka's ongoingTxns / unreplicatedTxns).
  std::map<int64_t, int64_t> ongoing_txns_;
  std::vector<CompletedTxn> unreplicated_txns_;
  int64_t recovery_point_ = 0;
  int64_t pending_flush_offset_ = -1;  // rolled, not yet flushed below this
  int64_t last_flush_ms_ = 0;
  int64_t unflushed_messages_ = 0;
  int64_t durable_offset_ = 0;  // >= recovery_point_
  // The highest offset a durable-mode append asked the flusher for: while
  // the durable offset is below it, the high watermark stops there.
  int64_t flush_wanted_ = 0;
  // Files changed below the recovery point (truncation, recovery): the next
  // flush() fsyncs even if the log end did not move.
  bool needs_flush_ = false;
  bool closed_ = false;
  // End of the staged appends (all in the active segment); -1: none. Under append_mu_.
  int64_t staged_end_ = -1;
};

}  // namespace samsa::log
