// One compaction pass (Cleaner::clean): the offset map over the dirty
// section, then the rewrite of the log's head into cleaned segments, swapped
// in group by group. The thread that picks logs is log_cleaner_manager.cc.
#include "samsa/log/log_cleaner.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <set>
#include <string_view>
#include <system_error>
#include <unordered_map>

#include "cleaner_txns.h"
#include "samsa/protocol/compression.h"
#include "samsa/protocol/control_records.h"
#include "samsa/util/logging.h"

namespace samsa::log {
namespace {

using protocol::BatchView;
using protocol::Record;
using protocol::RecordBatchHeader;

auto cleaner_logger() { return samsa::logger("samsa.log.LogCleaner"); }

constexpr size_t kReadChunk = 1024 * 1024;
// Bound for one batch's decompressed records (decompression bombs).
constexpr size_t kMaxDecompressedBatch = 256 * 1024 * 1024;
// Rough memory of one map entry besides its key: hash node, bucket, offset.
constexpr size_t kMapEntryOverhead = 64;

struct Aborted {};

// Each whole batch of `seg` from byte `pos` to its end, read a chunk at a
// time. `fn(view)` borrows the bytes only for the call.
template <typename Fn>
void for_each_batch(const LogSegment& seg, uint64_t pos, Fn&& fn) {
  const uint64_t limit = seg.size();
  std::vector<uint8_t> buf(kReadChunk);
  while (pos + RecordBatchHeader::kSize <= limit) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), limit - pos));
    const size_t got = seg.log_file()->pread_some(std::span<uint8_t>(buf.data(), want), pos);
    protocol::BatchIterator it(std::span<const uint8_t>(buf.data(), got));
    size_t consumed = 0;
    while (auto b = it.next()) {
      fn(*b);
      consumed = it.valid_bytes();
    }
    if (it.stop() == protocol::BatchIterator::Stop::kCorrupt)
      throw std::runtime_error("corrupt batch at position " + std::to_string(pos + consumed) + " of " +
                               seg.log_path());
    if (consumed == 0) {
      // One batch larger than the buffer: grow to fit it.
      auto h = RecordBatchHeader::parse(std::span<const uint8_t>(buf.data(), got));
      if (pos + h.size_in_bytes() > limit) break;
      buf.resize(h.size_in_bytes());
      continue;
    }
    pos += consumed;
  }
}

// Key -> latest offset in the dirty section. Keys are stored whole (no
// hashing, so no collisions can drop a record); memory is bounded by
// log.cleaner.dedupe.buffer.size.
class OffsetMap {
 public:
  explicit OffsetMap(int64_t limit_bytes) : limit_(static_cast<uint64_t>(std::max<int64_t>(limit_bytes, 0))) {}
  // Whether adding these keys stays within the limit (an empty map always
  // takes one batch, so a pass always makes progress).
  bool fits(const std::vector<Record>& records) const {
    if (map_.empty()) return true;
    uint64_t extra = 0;
    for (const auto& r : records) {
      if (r.key && !map_.contains(key_of(*r.key))) extra += r.key->size() + kMapEntryOverhead;
    }
    return bytes_ + extra <= limit_;
  }
  void put(const std::vector<uint8_t>& key, int64_t offset) {
    auto it = map_.find(key_of(key));
    if (it == map_.end()) {
      map_.emplace(std::string(key_of(key)), offset);
      bytes_ += key.size() + kMapEntryOverhead;
    } else {
      it->second = std::max(it->second, offset);
    }
  }
  std::optional<int64_t> get(const std::vector<uint8_t>& key) const {
    auto it = map_.find(key_of(key));
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  size_t size() const { return map_.size(); }

 private:
  static std::string_view key_of(const std::vector<uint8_t>& key) {
    return {reinterpret_cast<const char*>(key.data()), key.size()};
  }
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  uint64_t limit_;
  uint64_t bytes_ = 0;
  std::unordered_map<std::string, int64_t, Hash, std::equal_to<>> map_;
};


// The batch with only `kept` of its records, everything else in its header
// as it was (last offset delta included, so producer state and the offsets
// after it are unchanged); same codec.
std::vector<uint8_t> rebuild_batch(const BatchView& batch, const std::vector<const Record*>& kept) {
  RecordBatchHeader h = batch.header;
  protocol::WireWriter records;
  for (const Record* r : kept) r->encode(records);
  std::vector<uint8_t> section;
  if (!kept.empty()) {
    protocol::compress_into(h.compression(), records.view(), section);
  }
  h.records_count = static_cast<int32_t>(kept.size());
  if (h.timestamp_type() == protocol::TimestampType::kCreateTime && !kept.empty()) {
    int64_t max_delta = kept.front()->timestamp_delta;
    for (const Record* r : kept) max_delta = std::max(max_delta, r->timestamp_delta);
    h.max_timestamp = h.base_timestamp + max_delta;
  }
  h.batch_length = static_cast<int32_t>(RecordBatchHeader::kSize - RecordBatchHeader::kLogOverhead + section.size());
  protocol::WireWriter out;
  h.write(out);
  out.raw(section);
  std::vector<uint8_t> bytes = out.take();
  const uint32_t crc = protocol::compute_batch_crc(bytes);
  for (int i = 0; i < 4; ++i)
    bytes[RecordBatchHeader::kCrcPos + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  return bytes;
}

// KIP-534: the batch with its delete horizon set (attribute bit 6, the base
// timestamp holds the horizon; record timestamp deltas are rebased so every
// record keeps its timestamp).
std::vector<uint8_t> with_delete_horizon(const BatchView& batch, int64_t horizon_ms) {
  auto records = protocol::decode_batch_records(batch, kMaxDecompressedBatch);
  const int64_t old_base = batch.header.base_timestamp;
  std::vector<const Record*> kept;
  for (auto& r : records) {
    r.timestamp_delta = old_base + r.timestamp_delta - horizon_ms;
    kept.push_back(&r);
  }
  BatchView stamped = batch;
  stamped.header.attributes = static_cast<int16_t>(stamped.header.attributes | RecordBatchHeader::kDeleteHorizonBit);
  stamped.header.base_timestamp = horizon_ms;
  return rebuild_batch(stamped, kept);
}

void set_mtime(const FileHandle& file, int64_t mtime_ms) {
  if (mtime_ms <= 0) return;
  struct timespec times[2];
  times[0].tv_sec = mtime_ms / 1000;
  times[0].tv_nsec = (mtime_ms % 1000) * 1000000;
  times[1] = times[0];
  if (::futimens(file.fd(), times) != 0)
    throw std::system_error(errno, std::generic_category(), "futimens " + file.path());
}

// Kafka's groupSegmentsBySize: runs of segments whose total size fits one
// segment, whose indexes fit one index, and whose offsets fit relative ones.
std::vector<std::vector<std::shared_ptr<LogSegment>>> group_segments(
    const std::vector<std::shared_ptr<LogSegment>>& segs, const LogConfig& cfg) {
  std::vector<std::vector<std::shared_ptr<LogSegment>>> groups;
  uint64_t bytes = 0, index_bytes = 0, time_bytes = 0;
  for (const auto& seg : segs) {
    const uint64_t ib = seg->offset_index().entries() * OffsetIndex::kEntrySize;
    const uint64_t tb = seg->time_index().entries() * TimeIndex::kEntrySize;
    bool fits = !groups.empty() && bytes + seg->size() <= static_cast<uint64_t>(cfg.segment_bytes) &&
                index_bytes + ib <= static_cast<uint64_t>(cfg.segment_index_bytes) &&
                time_bytes + tb + TimeIndex::kEntrySize <= static_cast<uint64_t>(cfg.segment_index_bytes) &&
                seg->next_offset() - 1 - groups.back().front()->base_offset() <= INT32_MAX;
    if (!fits) {
      groups.emplace_back();
      bytes = index_bytes = time_bytes = 0;
    }
    groups.back().push_back(seg);
    bytes += seg->size();
    index_bytes += ib;
    time_bytes += tb;
  }
  return groups;
}

struct PassContext {
  const Log& log;
  const LogConfig& cfg;
  const OffsetMap& map;
  int64_t first_dirty;  // tombstones below it were already clean before this pass
  int64_t now_ms;
  // (producer id, last offset) of every batch the producer state retains.
  std::set<std::pair<int64_t, int64_t>> producer_batches;
  const std::function<bool()>& abort_check;
  CleanStats& stats;
  CleanerTxns& txns;
  // The .txnindex entries of the ABORT markers kept in the group being written.
  std::vector<AbortedTxn> kept_index = {};
};

// Appends the cleaned form of `batch` to `out` (nothing if it vanishes).
void clean_batch(const BatchView& batch, int64_t segment_mtime, PassContext& ctx, std::vector<uint8_t>& out) {
  const RecordBatchHeader& h = batch.header;
  auto copy = [&] { out.insert(out.end(), batch.bytes.begin(), batch.bytes.end()); };
  const int64_t batch_time = h.max_timestamp >= 0 ? h.max_timestamp : segment_mtime;
  const bool tombstones_expired = ctx.now_ms - batch_time > ctx.cfg.delete_retention_ms;
  if (h.is_control()) {
    std::optional<protocol::EndTxnMarker> marker;
    try {
      marker = protocol::parse_end_txn_marker(batch);
    } catch (const protocol::DecodeError&) {
    }
    if (!marker) {
      copy();
      return;
    }
    // Kafka's rule (KIP-534): a marker goes once no data of its
    // transaction is left and consumers had delete.retention.ms to read it
    // from then on. The first clean that finds its data gone writes that
    // delete horizon into the batch; a clean after the horizon removes it.
    const bool removable = ctx.txns.marker_removable(h, *marker);
    if (removable && h.has_delete_horizon() && ctx.now_ms >= h.base_timestamp) {
      ++ctx.stats.records_removed;
      return;
    }
    if (!marker->commit)
      if (auto entry = ctx.txns.index_entry(h.producer_id, h.base_offset)) ctx.kept_index.push_back(*entry);
    if (removable && !h.has_delete_horizon()) {
      auto stamped = with_delete_horizon(batch, ctx.now_ms + ctx.cfg.delete_retention_ms);
      out.insert(out.end(), stamped.begin(), stamped.end());
      return;
    }
    copy();
    return;
  }
  ctx.txns.on_data_batch(h);
  const bool aborted = ctx.txns.aborted(h);  // its records go, whatever their keys
  const auto records = protocol::decode_batch_records(batch, kMaxDecompressedBatch);
  ctx.stats.records_read += records.size();
  std::vector<const Record*> kept;
  kept.reserve(records.size());
  for (const auto& r : records) {
    if (aborted) continue;
    const int64_t offset = h.base_offset + r.offset_delta;
    if (r.key) {
      if (auto latest = ctx.map.get(*r.key); latest && *latest > offset) continue;
      if (!r.value && offset < ctx.first_dirty && tombstones_expired) {
        ++ctx.stats.tombstones_removed;
        continue;
      }
    }
    kept.push_back(&r);
  }
  ctx.stats.records_removed += records.size() - kept.size();
  const bool producer_keeps = h.producer_id >= 0 && ctx.producer_batches.contains({h.producer_id, h.last_offset()});
  if (records.empty() && !producer_keeps) {
    return;  // an emptied batch its producer no longer needs
  } else if (kept.size() == records.size()) {
    copy();
  } else if (!kept.empty() || producer_keeps) {
    auto rebuilt = rebuild_batch(batch, kept);
    out.insert(out.end(), rebuilt.begin(), rebuilt.end());
  }
}

void append_to(LogSegment& seg, std::vector<uint8_t>& out) {
  if (out.empty()) return;
  auto split = protocol::split_batches(out, /*require_complete=*/true);
  seg.append(out, split.batches);
  out.clear();
}

// Writes the cleaned form of `group` as "<base>.*.cleaned", fsyncs it and
// renames it to ".swap". Returns the size written.
uint64_t write_cleaned_group(const std::vector<std::shared_ptr<LogSegment>>& group, PassContext& ctx) {
  const int64_t base = group.front()->base_offset();
  auto cleaned = LogSegment::create(ctx.log.dir(), base, ctx.cfg, ctx.now_ms, kCleanedSuffix);
  std::vector<uint8_t> out;
  int64_t mtime = 0;
  for (const auto& seg : group) {
    const int64_t seg_mtime = seg->log_file()->mtime_ms();
    mtime = std::max(mtime, seg_mtime);
    for_each_batch(*seg, 0, [&](const BatchView& b) {
      if (ctx.abort_check && ctx.abort_check()) throw Aborted{};
      clean_batch(b, seg_mtime, ctx, out);
      if (out.size() >= kReadChunk) append_to(*cleaned, out);
    });
  }
  append_to(*cleaned, out);
  // The aborted transactions whose markers stay stay indexed.
  for (const auto& t : ctx.kept_index) cleaned->txn_index().append(t);
  ctx.kept_index.clear();
  cleaned->on_become_inactive();
  // Kafka keeps the newest modification time of the sources (retention by
  // time falls back to it for segments without timestamps).
  set_mtime(*cleaned->log_file(), mtime);
  cleaned->flush();
  cleaned->create_index_files();  // renamed by name below, even when empty
  const uint64_t size = cleaned->size();
  const std::string stem = ctx.log.dir() + "/" + offset_file_stem(base);
  if (file_exists(stem + kTxnIndexSuffix + kCleanedSuffix))
    rename_file(stem + kTxnIndexSuffix + kCleanedSuffix, stem + kTxnIndexSuffix + kSwapSuffix);
  for (const char* suffix : {kIndexSuffix, kTimeIndexSuffix, kLogSuffix})
    rename_file(stem + suffix + kCleanedSuffix, stem + suffix + kSwapSuffix);
  fsync_dir(ctx.log.dir());
  return size;
}

void remove_swap_files(const std::string& dir, int64_t base) {
  const std::string stem = dir + "/" + offset_file_stem(base);
  for (const char* suffix : {kLogSuffix, kIndexSuffix, kTimeIndexSuffix, kTxnIndexSuffix}) {
    remove_file_if_exists(stem + suffix + kSwapSuffix);
    remove_file_if_exists(stem + suffix + kCleanedSuffix);
  }
}

}  // namespace

CleanableRange cleanable_range(const Log& log, std::optional<int64_t> checkpoint, int64_t now_ms) {
  const LogConfig cfg = log.config();
  auto view = log.cleanable_segments();
  CleanableRange range;
  range.first_uncleanable_offset = view.first_uncleanable_offset;
  // min.compaction.lag.ms: the first segment too young to clean ends it.
  for (const auto& seg : view.segments) {
    if (cfg.min_compaction_lag_ms > 0 && now_ms - seg->largest_timestamp() < cfg.min_compaction_lag_ms) {
      range.first_uncleanable_offset = seg->base_offset();
      break;
    }
    range.segments.push_back(seg);
  }
  if (range.segments.empty()) {
    range.first_dirty_offset = range.first_uncleanable_offset;
    return range;
  }
  const int64_t start = range.segments.front()->base_offset();
  range.first_dirty_offset = checkpoint && *checkpoint >= start && *checkpoint <= range.first_uncleanable_offset
                                 ? *checkpoint
                                 : start;
  for (const auto& seg : range.segments) {
    if (seg->next_offset() <= range.first_dirty_offset) {
      range.clean_bytes += seg->size();
    } else {
      range.dirty_bytes += seg->size();
      if (cfg.max_compaction_lag_ms != LogConfig::kNever &&
          now_ms - seg->largest_timestamp() > cfg.max_compaction_lag_ms)
        range.max_lag_exceeded = true;
    }
  }
  return range;
}

Cleaner::Cleaner(CleanerConfig config, std::shared_ptr<Clock> clock)
    : config_(config), clock_(clock ? std::move(clock) : SystemClock::instance()) {}

CleanStats Cleaner::clean(Log& log, std::optional<int64_t> checkpoint) {
  CleanStats stats;
  const int64_t now = clock_->now_ms();
  const LogConfig cfg = log.config();
  CleanableRange range = cleanable_range(log, checkpoint, now);
  stats.first_dirty_offset = range.first_dirty_offset;
  if (range.segments.empty() || range.first_dirty_offset >= range.first_uncleanable_offset) return stats;

  // Everything below the first uncleanable offset (<= the last stable
  // offset) belongs to ended transactions: the aborted ones are indexed.
  CleanerTxns txns(log.collect_aborted_transactions(range.segments.front()->base_offset(),
                                                    range.first_uncleanable_offset));

  // 1. The offset map over [first dirty, first uncleanable), whole batches.
  OffsetMap map(config_.dedupe_buffer_size);
  int64_t end = range.first_dirty_offset;
  bool full = false;
  try {
    for (const auto& seg : range.segments) {
      if (full) break;
      if (seg->next_offset() <= range.first_dirty_offset) continue;
      auto first = seg->translate_offset(range.first_dirty_offset, seg->size());
      if (!first) continue;
      for_each_batch(*seg, first->position, [&](const BatchView& b) {
        if (full) return;
        if (abort_check_ && abort_check_()) throw Aborted{};
        const RecordBatchHeader& h = b.header;
        if (h.last_offset() < range.first_dirty_offset) return;
        if (!h.is_control() && !txns.aborted(h)) {
          auto records = protocol::decode_batch_records(b, kMaxDecompressedBatch);
          if (!map.fits(records)) {
            full = true;
            return;
          }
          for (const auto& r : records) {
            const int64_t offset = h.base_offset + r.offset_delta;
            if (r.key && offset >= range.first_dirty_offset) map.put(*r.key, offset);
          }
        }
        end = h.next_offset();
      });
    }
  } catch (const Aborted&) {
    stats.aborted = true;
    return stats;
  }
  if (!full) end = range.first_uncleanable_offset;
  if (full) {
    cleaner_logger()->info("Offset map of {} is full ({} keys): cleaning up to offset {} this time",
                           log.topic_partition().dir_name(), map.size(), end);
  }

  // 2. Rewrite every segment that starts below the map's end.
  std::vector<std::shared_ptr<LogSegment>> to_clean;
  for (const auto& seg : range.segments) {
    if (seg->base_offset() < end) to_clean.push_back(seg);
  }
  PassContext ctx{log, cfg, map, range.first_dirty_offset, now, {}, abort_check_, stats, txns};
  for (const auto& p : log.active_producers()) {
    for (size_t i = 0; i < p.batch_count(); ++i) ctx.producer_batches.emplace(p.producer_id, p.batch(i).last_offset);
  }
  for (const auto& group : group_segments(to_clean, cfg)) {
    const int64_t base = group.front()->base_offset();
    uint64_t before = 0;
    for (const auto& seg : group) before += seg->size();
    uint64_t after = 0;
    try {
      after = write_cleaned_group(group, ctx);
    } catch (const Aborted&) {
      remove_swap_files(log.dir(), base);
      stats.aborted = true;
      return stats;
    } catch (...) {
      remove_swap_files(log.dir(), base);
      throw;
    }
    if (!log.replace_cleaned_segments(group)) {
      remove_swap_files(log.dir(), base);
      stats.aborted = true;
      return stats;
    }
    stats.segments_before += group.size();
    stats.segments_after += 1;
    stats.bytes_before += before;
    stats.bytes_after += after;
  }
  stats.cleaned = true;
  stats.end_offset = end;
  cleaner_logger()->info(
      "Cleaned {} up to offset {}: {} segments ({} bytes) into {} ({} bytes), {} of {} records removed "
      "({} tombstones)",
      log.topic_partition().dir_name(), end, stats.segments_before, stats.bytes_before, stats.segments_after,
      stats.bytes_after, stats.records_removed, stats.records_read, stats.tombstones_removed);
  return stats;
}

}  // namespace samsa::log
