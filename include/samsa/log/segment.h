#pragma once
// One log segment: <20-digit base offset>.log with its .index and .timeindex.
//
// .log   record batches (magic 2) back to back, exactly as appended, offsets
//        assigned; no file header. The file name's number is the base offset
//        of the first batch the segment may hold.
// .index / .timeindex   see offset_index.h / time_index.h.
// .txnindex   aborted transactions whose marker is here (txn_index.h); only
//        segments that ever had one have the file.
//
// Files are opened lazily through FileCache::instance() (file_cache.h): a
// segment may hold no descriptor and no mapping at all while it is idle.
// log_file() hands out shared ownership, so a reader's handle outlives an
// eviction; delete_files() pins the files first, so readers that still hold
// the segment keep reading the unlinked data.
//
// Concurrency: one appender at a time (the Log's append lock); any number of
// readers. size() is published (release) after the bytes and index entries
// are written, so a reader never looks past fully written data.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "samsa/log/batch_location.h"
#include "samsa/log/file_cache.h"
#include "samsa/log/file_handle.h"
#include "samsa/log/log_config.h"
#include "samsa/log/offset_index.h"
#include "samsa/log/recent_batches.h"
#include "samsa/log/time_index.h"
#include "samsa/log/txn_index.h"
#include "samsa/protocol/record_batch.h"

namespace samsa::log {

// "00000000000000000042"
std::string offset_file_stem(int64_t offset);
inline constexpr const char* kLogSuffix = ".log";
inline constexpr const char* kIndexSuffix = ".index";
inline constexpr const char* kTimeIndexSuffix = ".timeindex";
inline constexpr const char* kDeletedSuffix = ".deleted";
// Compaction's temporary names (log_cleaner.h): appended to each of the
// three file names of a segment being written / being swapped in.
inline constexpr const char* kCleanedSuffix = ".cleaned";
inline constexpr const char* kSwapSuffix = ".swap";

struct TimestampAndOffset {
  int64_t timestamp = -1;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  bool operator==(const TimestampAndOffset&) const = default;
};

class LogSegment {
 public:
  // New, empty segment (existing files with that name are truncated).
  // `file_suffix` (kCleanedSuffix) is appended to the three file names.
  static std::shared_ptr<LogSegment> create(const std::string& dir, int64_t base_offset,
                                            const LogConfig& config, int64_t now_ms,
                                            std::string_view file_suffix = {});
  // Existing .log file; indexes are opened (or created empty) as found.
  // Call load_end_state() or recover() before use.
  static std::shared_ptr<LogSegment> open(const std::string& dir, int64_t base_offset,
                                          const LogConfig& config, int64_t now_ms);
  ~LogSegment();

  int64_t base_offset() const { return base_offset_; }
  uint64_t size() const { return size_.load(std::memory_order_acquire); }
  // Offset after the last batch (base offset when empty).
  int64_t next_offset() const { return next_offset_.load(std::memory_order_acquire); }
  // The open .log file (opened again if the cache evicted it). Throws
  // std::system_error if it cannot be opened.
  std::shared_ptr<FileHandle> log_file() const { return log_->get(); }
  std::string log_path() const { return log_->path(); }
  OffsetIndex& offset_index() { return *offset_index_; }
  TimeIndex& time_index() { return *time_index_; }
  const OffsetIndex& offset_index() const { return *offset_index_; }
  const TimeIndex& time_index() const { return *time_index_; }
  TxnIndex& txn_index() { return *txn_index_; }
  const TxnIndex& txn_index() const { return *txn_index_; }

  // --- append side (caller holds the log's append lock) ---
  struct RollInputs {
    uint64_t append_bytes;
    int64_t max_timestamp;  // largest timestamp in the append
    int64_t last_offset;    // last offset of the append
    int64_t now_ms;
    // The log's current segment.bytes / segment.ms: read at each append, not
    // fixed at segment creation, so a config change reaches the active segment.
    int32_t segment_bytes;
    int64_t segment_ms;
  };
  // Kafka's roll rules: size, segment.ms less this segment's jitter (from the first batch's timestamp,
  // else creation time), a full index, relative offset overflow. An empty
  // segment never rolls (it would collide with the next base offset).
  bool should_roll(const RollInputs& in) const;
  void append(std::span<const uint8_t> bytes, std::span<const protocol::BatchView> batches);
  // Like append(), but nothing is written yet (segment_staging.cc): the
  // bytes, which `owner` keeps alive, wait for write_staged(), and until
  // then size(), next_offset() and the indexes do not show them (readers
  // never see them). should_roll() counts them. While bytes are staged,
  // further appends must be staged too, or follow write_staged().
  void stage(std::span<const uint8_t> bytes, std::span<const protocol::BatchView> batches,
             std::shared_ptr<const void> owner);
  uint64_t staged_bytes() const { return staged_bytes_; }
  // Writes every staged append with one gather write (no copy), then
  // indexes and publishes them as append() does. Throws on a write error;
  // the staged appends are dropped either way.
  void write_staged();
  // Forgets the staged appends without writing them (the log is offline or deleted).
  void drop_staged();
  // Final time index entry, then indexes trimmed to their entries.
  void on_become_inactive();
  // The segment is active again: its indexes preallocate at their next entry.
  void on_become_active();
  // Drops batches with offsets >= `offset`; returns bytes removed.
  uint64_t truncate_to(int64_t offset);

  // --- read side (any thread) ---
  // Header of the batch at `position` if a whole one lies before `limit`.
  std::optional<BatchLocation> read_batch_header(uint64_t position, uint64_t limit) const;
  // First batch with last offset >= offset, scanning headers from the index
  // entry at or below it; nullopt if none before `limit`. At the tail (the
  // recent batches of the active segment, recent_batches.h) it answers from
  // memory without reading the file.
  std::optional<BatchLocation> translate_offset(int64_t offset, uint64_t limit) const;
  // End of the last whole batch that ends at or before `limit`, scanning
  // from `from` (a batch boundary).
  uint64_t batch_boundary_at_or_below(uint64_t from, uint64_t limit) const;
  // Earliest record with timestamp >= ts and offset >= starting_offset.
  std::optional<TimestampAndOffset> find_offset_by_timestamp(int64_t ts,
                                                             int64_t starting_offset) const;
  TimestampAndOffset max_timestamp_so_far() const;
  // For retention.ms: the max timestamp, or the file's mtime if none.
  int64_t largest_timestamp() const;

  // --- lifecycle ---
  void flush();
  // Clean start: trusts the indexes after checking them. Returns a reason
  // if they (or the tail of the .log) look wrong; recover() then.
  std::optional<std::string> load_end_state();
  struct RecoverResult {
    uint64_t valid_bytes = 0;
    uint64_t truncated_bytes = 0;
    std::string reason;  // why the scan stopped early, if it did
  };
  // Validates every batch (framing, CRC, offsets), rebuilds both indexes and
  // truncates the file after the last valid batch (and the .txnindex after
  // it; the Log's producer state replay adds what is missing). `on_batch` sees each
  // valid batch (leader epoch cache rebuild).
  RecoverResult recover(const std::function<void(const protocol::RecordBatchHeader&)>& on_batch);
  // Renames the three files to *.deleted, then unlinks them. Open readers
  // keep their FileHandle.
  void delete_files();
  // delete_files() in two steps, for a delayed delete: the renames to
  // *.deleted (readers keep working), then the unlinks.
  void rename_to_deleted();
  void remove_deleted_files();
  // Index files appear at their first entry; this creates empty ones now.
  void create_index_files() {
    offset_index_->create_if_missing();
    time_index_->create_if_missing();
  }
  void close();

 private:
  LogSegment(int64_t base_offset, const LogConfig& config, int64_t now_ms);
  void open_files(const std::string& dir, bool truncate, std::string_view file_suffix = {});
  void note_batch(const protocol::RecordBatchHeader& h, uint64_t position);
  void scan_first_batch_timestamp();

  int64_t base_offset_;
  int32_t index_interval_bytes_;
  int32_t max_index_bytes_;
  int64_t created_ms_;
  // Kafka's rollJitterMs: drawn once per segment from [0, min(segment.jitter.ms,
  // segment.ms)) so segments of many partitions do not all roll at once.
  const int64_t roll_jitter_ms_;
  std::unique_ptr<CachedFile<FileHandle>> log_;
  std::unique_ptr<OffsetIndex> offset_index_;
  std::unique_ptr<TimeIndex> time_index_;
  std::unique_ptr<TxnIndex> txn_index_;
  std::atomic<uint64_t> size_{0};
  std::atomic<int64_t> next_offset_;
  uint64_t bytes_since_last_index_entry_ = 0;
  std::optional<int64_t> rolling_based_timestamp_;
  // Staged appends, in order (stage()/write_staged(), under the append lock).
  std::vector<std::span<const uint8_t>> staged_pieces_;
  std::vector<std::shared_ptr<const void>> staged_owners_;
  std::vector<protocol::RecordBatchHeader> staged_headers_;
  uint64_t staged_bytes_ = 0;
  mutable std::mutex max_ts_mu_;  // pairs max timestamp with its offset
  TimestampAndOffset max_ts_;
  // The active segment's last batches (dropped when it becomes inactive).
  RecentBatches recent_;
};

}  // namespace samsa::log
