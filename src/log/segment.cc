#include "samsa/log/segment.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "samsa/util/logging.h"

namespace samsa::log {

using protocol::RecordBatchHeader;

namespace {

std::shared_ptr<FileHandle> reopen_log(const std::string& path, uint64_t) {
  return FileHandle::open(path, /*create=*/false);
}

}  // namespace

std::string offset_file_stem(int64_t offset) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(offset));
  return buf;
}

namespace {
int64_t random_roll_jitter(const LogConfig& config) {
  const int64_t bound = std::min(config.segment_jitter_ms, config.segment_ms);
  if (bound <= 0) return 0;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return static_cast<int64_t>(rng() % static_cast<uint64_t>(bound));
}
}  // namespace

LogSegment::LogSegment(int64_t base_offset, const LogConfig& config, int64_t now_ms)
    : base_offset_(base_offset),
      index_interval_bytes_(config.index_interval_bytes),
      max_index_bytes_(config.segment_index_bytes),
      created_ms_(now_ms),
      roll_jitter_ms_(random_roll_jitter(config)),
      next_offset_(base_offset) {}

LogSegment::~LogSegment() = default;

void LogSegment::open_files(const std::string& dir, bool truncate, std::string_view file_suffix) {
  const std::string stem = dir + "/" + offset_file_stem(base_offset_);
  const std::string suffix(file_suffix);
  if (truncate) {
    remove_file_if_exists(stem + kIndexSuffix + suffix);
    remove_file_if_exists(stem + kTimeIndexSuffix + suffix);
  }
  const std::string log_path = stem + kLogSuffix + suffix;
  auto file = FileHandle::open(log_path, /*create=*/true);
  if (truncate) file->truncate(0);
  size_.store(file->size(), std::memory_order_release);
  log_ = std::make_unique<CachedFile<FileHandle>>(FileCache::instance(), log_path, &reopen_log);
  log_->adopt(std::move(file));
  offset_index_ = std::make_unique<OffsetIndex>(stem + kIndexSuffix + suffix, base_offset_, max_index_bytes_);
  time_index_ = std::make_unique<TimeIndex>(stem + kTimeIndexSuffix + suffix, base_offset_, max_index_bytes_);
  txn_index_ = std::make_unique<TxnIndex>(stem + kTxnIndexSuffix + suffix);
  if (truncate) txn_index_->reset();
}

std::shared_ptr<LogSegment> LogSegment::create(const std::string& dir, int64_t base_offset,
                                               const LogConfig& config, int64_t now_ms,
                                               std::string_view file_suffix) {
  std::shared_ptr<LogSegment> seg(new LogSegment(base_offset, config, now_ms));
  seg->open_files(dir, /*truncate=*/true, file_suffix);
  return seg;  // the indexes preallocate at their first entry
}

std::shared_ptr<LogSegment> LogSegment::open(const std::string& dir, int64_t base_offset,
                                             const LogConfig& config, int64_t now_ms) {
  std::shared_ptr<LogSegment> seg(new LogSegment(base_offset, config, now_ms));
  seg->open_files(dir, /*truncate=*/false);
  return seg;
}

bool LogSegment::should_roll(const RollInputs& in) const {
  const uint64_t sz = size() + staged_bytes_;
  if (sz == 0) return false;
  if (static_cast<int64_t>(sz) > static_cast<int64_t>(in.segment_bytes) -
                                     static_cast<int64_t>(in.append_bytes))
    return true;
  // segment.ms counts from the first batch's timestamp when there is one
  // (so replayed old data rolls by its own time), else from creation.
  int64_t waited = rolling_based_timestamp_ && *rolling_based_timestamp_ >= 0
                       ? in.max_timestamp - *rolling_based_timestamp_
                       : in.now_ms - created_ms_;
  if (waited > in.segment_ms - roll_jitter_ms_) return true;
  if (offset_index_->is_full() || time_index_->full_for_append()) return true;
  return in.last_offset - base_offset_ > INT32_MAX;
}

void LogSegment::note_batch(const RecordBatchHeader& h, uint64_t position) {
  {
    std::lock_guard lock(max_ts_mu_);
    if (h.max_timestamp > max_ts_.timestamp)
      max_ts_ = {h.max_timestamp, h.last_offset(), h.partition_leader_epoch};
  }
  if (bytes_since_last_index_entry_ > static_cast<uint64_t>(index_interval_bytes_)) {
    // A full index only means a sparser index; the segment rolls before the
    // next append anyway.
    if (!offset_index_->is_full())
      offset_index_->append(h.last_offset(), static_cast<uint32_t>(position));
    TimestampAndOffset m = max_timestamp_so_far();
    time_index_->maybe_append(m.timestamp, m.offset);
    bytes_since_last_index_entry_ = 0;
  }
  bytes_since_last_index_entry_ += h.size_in_bytes();
}

void LogSegment::append(std::span<const uint8_t> bytes,
                        std::span<const protocol::BatchView> batches) {
  if (bytes.empty()) return;
  uint64_t position = size();
  log_file()->pwrite_all(bytes, position);  // one write for the whole request
  if (position == 0) {
    int64_t max_ts = -1;
    for (const auto& b : batches) max_ts = std::max(max_ts, b.header.max_timestamp);
    rolling_based_timestamp_ = max_ts;
  }
  for (const auto& b : batches) {
    note_batch(b.header, position);
    position += b.bytes.size();
  }
  next_offset_.store(batches.back().header.next_offset(), std::memory_order_release);
  size_.store(position, std::memory_order_release);  // publish last
}

void LogSegment::on_become_inactive() {
  TimestampAndOffset m = max_timestamp_so_far();
  if (m.timestamp >= 0) time_index_->maybe_append(m.timestamp, m.offset, /*skip_full_check=*/true);
  offset_index_->trim();
  time_index_->trim();
}

void LogSegment::on_become_active() {
  // Nothing to do on disk now: the indexes preallocate again at their next
  // entry (idle partitions never pay for it).
}

uint64_t LogSegment::truncate_to(int64_t offset) {
  const uint64_t old_size = size();
  auto b = translate_offset(offset, old_size);
  if (!b) return 0;
  offset_index_->truncate_to(offset);
  time_index_->truncate_to(offset);
  txn_index_->truncate_to(offset);
  log_file()->truncate(b->position);
  {
    std::lock_guard lock(max_ts_mu_);
    auto last = time_index_->last_entry();
    max_ts_ = last ? TimestampAndOffset{last->timestamp, last->offset, -1} : TimestampAndOffset{};
  }
  if (b->position == 0) rolling_based_timestamp_.reset();
  bytes_since_last_index_entry_ = 0;
  next_offset_.store(b->position == 0 ? base_offset_ : b->header.base_offset,
                     std::memory_order_release);
  size_.store(b->position, std::memory_order_release);
  return old_size - b->position;
}

std::optional<BatchLocation> LogSegment::read_batch_header(uint64_t position,
                                                           uint64_t limit) const {
  if (position + RecordBatchHeader::kSize > limit) return std::nullopt;
  uint8_t buf[RecordBatchHeader::kSize];
  if (log_file()->pread_some(buf, position) != sizeof buf) return std::nullopt;
  try {
    BatchLocation loc{position, RecordBatchHeader::parse(buf)};
    if (loc.end() > limit) return std::nullopt;
    return loc;
  } catch (const protocol::DecodeError&) {
    return std::nullopt;
  }
}

std::optional<BatchLocation> LogSegment::translate_offset(int64_t offset, uint64_t limit) const {
  uint64_t pos = offset_index_->lookup(offset).position;
  while (auto b = read_batch_header(pos, limit)) {
    if (b->header.last_offset() >= offset) return b;
    pos = b->end();
  }
  return std::nullopt;
}

uint64_t LogSegment::batch_boundary_at_or_below(uint64_t from, uint64_t limit) const {
  // Jump over most of the range with the index, then walk the headers.
  uint64_t pos = std::max<uint64_t>(from, offset_index_->lookup_by_position(limit).position);
  while (auto b = read_batch_header(pos, limit)) pos = b->end();
  return pos;
}

std::optional<TimestampAndOffset> LogSegment::find_offset_by_timestamp(
    int64_t ts, int64_t starting_offset) const {
  TimestampOffset hint = time_index_->lookup(ts);
  uint64_t pos = offset_index_->lookup(std::max(hint.offset, starting_offset)).position;
  const uint64_t limit = size();
  while (auto b = read_batch_header(pos, limit)) {
    const RecordBatchHeader& h = b->header;
    if (h.max_timestamp >= ts && h.last_offset() >= starting_offset) {
      TimestampAndOffset found{h.max_timestamp, std::max(h.base_offset, starting_offset),
                               h.partition_leader_epoch};
      // Uncompressed CreateTime batches are cheap to look into for the exact
      // record; otherwise the batch is the answer.
      if (h.compression() == protocol::CompressionType::kNone &&
          h.timestamp_type() == protocol::TimestampType::kCreateTime) {
        std::vector<uint8_t> bytes(h.size_in_bytes());
        if (log_file()->pread_some(bytes, b->position) == bytes.size()) {
          try {
            protocol::BatchView view{h, bytes};
            for (const auto& r : protocol::decode_records(view)) {
              int64_t off = h.base_offset + r.offset_delta;
              int64_t rts = h.base_timestamp + r.timestamp_delta;
              if (off >= starting_offset && rts >= ts) return TimestampAndOffset{rts, off, found.leader_epoch};
            }
          } catch (const protocol::DecodeError&) {
          }
        }
      }
      return found;
    }
    pos = b->end();
  }
  return std::nullopt;
}

TimestampAndOffset LogSegment::max_timestamp_so_far() const {
  std::lock_guard lock(max_ts_mu_);
  return max_ts_;
}

int64_t LogSegment::largest_timestamp() const {
  TimestampAndOffset m = max_timestamp_so_far();
  return m.timestamp >= 0 ? m.timestamp : log_file()->mtime_ms();
}

void LogSegment::flush() {
  log_file()->fsync();
  offset_index_->flush();
  time_index_->flush();
  txn_index_->flush();
}

void LogSegment::scan_first_batch_timestamp() {
  if (auto first = read_batch_header(0, size())) rolling_based_timestamp_ = first->header.max_timestamp;
}

std::optional<std::string> LogSegment::load_end_state() {
  const uint64_t file_size = size();
  if (auto why = offset_index_->sanity_check(file_size)) return "offset index: " + *why;
  if (auto why = time_index_->sanity_check()) return "time index: " + *why;
  auto last_entry = offset_index_->last_entry();
  uint64_t pos = last_entry ? last_entry->position : 0;
  std::optional<BatchLocation> last;
  while (pos < file_size) {
    auto b = read_batch_header(pos, file_size);
    if (!b) return "no whole batch at position " + std::to_string(pos);
    last = b;
    pos = b->end();
  }
  if (last_entry && (!last || last->header.last_offset() < last_entry->offset))
    return "offset index points past the last batch";
  int64_t next = last ? last->header.next_offset() : base_offset_;
  auto last_time = time_index_->last_entry();
  if (last_time && last_time->offset >= next) return "time index points past the last batch";
  {
    std::lock_guard lock(max_ts_mu_);
    max_ts_ = last_time ? TimestampAndOffset{last_time->timestamp, last_time->offset, -1}
                        : TimestampAndOffset{};
  }
  if (!last_time && file_size > 0) {
    // No time index entry (tiny index): take the max from the headers.
    uint64_t p = 0;
    while (auto b = read_batch_header(p, file_size)) {
      std::lock_guard lock(max_ts_mu_);
      if (b->header.max_timestamp > max_ts_.timestamp)
        max_ts_ = {b->header.max_timestamp, b->header.last_offset(), b->header.partition_leader_epoch};
      p = b->end();
    }
  }
  next_offset_.store(next, std::memory_order_release);
  scan_first_batch_timestamp();
  return std::nullopt;
}

LogSegment::RecoverResult LogSegment::recover(
    const std::function<void(const RecordBatchHeader&)>& on_batch) {
  offset_index_->reset();
  time_index_->reset();
  {
    std::lock_guard lock(max_ts_mu_);
    max_ts_ = {};
  }
  bytes_since_last_index_entry_ = 0;
  RecoverResult result;
  auto file = log_file();
  const uint64_t file_size = file->size();
  uint64_t pos = 0;
  int64_t next = base_offset_;
  std::vector<uint8_t> batch;
  while (pos < file_size) {
    const uint64_t left = file_size - pos;
    if (left < RecordBatchHeader::kSize) {
      result.reason = "incomplete batch header (" + std::to_string(left) + " bytes)";
      break;
    }
    batch.resize(RecordBatchHeader::kSize);
    file->pread_some(batch, pos);
    RecordBatchHeader h;
    try {
      h = RecordBatchHeader::parse(batch);
    } catch (const protocol::DecodeError& e) {
      result.reason = std::string("corrupt batch header: ") + e.what();
      break;
    }
    if (h.size_in_bytes() > left) {
      result.reason = "batch of " + std::to_string(h.size_in_bytes()) + " bytes is cut short";
      break;
    }
    batch.resize(h.size_in_bytes());
    if (file->pread_some(batch, pos) != batch.size() || !protocol::verify_crc(batch)) {
      result.reason = "CRC mismatch";
      break;
    }
    if (h.base_offset < next || h.last_offset_delta < 0 ||
        h.last_offset() - base_offset_ > INT32_MAX) {
      result.reason = "batch offsets " + std::to_string(h.base_offset) + ".." +
                      std::to_string(h.last_offset()) + " out of order";
      break;
    }
    if (pos == 0) rolling_based_timestamp_ = h.max_timestamp;
    note_batch(h, pos);
    if (on_batch) on_batch(h);
    next = h.next_offset();
    pos += h.size_in_bytes();
  }
  result.valid_bytes = pos;
  result.truncated_bytes = file_size - pos;
  if (result.truncated_bytes > 0) file->truncate(pos);
  txn_index_->truncate_to(next);
  if (pos == 0) rolling_based_timestamp_.reset();
  next_offset_.store(next, std::memory_order_release);
  size_.store(pos, std::memory_order_release);
  return result;
}

void LogSegment::delete_files() {
  // Rename first so a crash between the steps leaves only *.deleted files,
  // which the next start removes. Readers holding the FileHandle or the
  // index mappings keep working on the unlinked inodes.
  rename_to_deleted();
  remove_deleted_files();
}

void LogSegment::rename_to_deleted() {
  log_->pin();
  offset_index_->pin();
  time_index_->pin();
  const std::string log_path = log_->path();
  if (file_exists(log_path)) rename_file(log_path, log_path + kDeletedSuffix);
  offset_index_->rename_to(offset_index_->path() + kDeletedSuffix);
  time_index_->rename_to(time_index_->path() + kDeletedSuffix);
  txn_index_->rename_to(txn_index_->path() + kDeletedSuffix);
}

void LogSegment::remove_deleted_files() {
  // log_->path() is the name at open time; the renamed file is beside it.
  remove_file_if_exists(log_->path() + kDeletedSuffix);
  offset_index_->remove_file();
  time_index_->remove_file();
  txn_index_->remove_file();
}

void LogSegment::close() { on_become_inactive(); }

}  // namespace samsa::log
