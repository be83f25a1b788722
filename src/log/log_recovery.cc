// Loading a partition directory: leftovers of interrupted operations are
// removed, segments opened, and either trusted (clean shutdown, indexes
// sanity-checked) or re-validated batch by batch from the recovery point
// (unclean shutdown), truncating a torn or corrupt tail.
#include <algorithm>
#include <filesystem>
#include <set>

#include "samsa/log/log.h"
#include "samsa/util/env.h"
#include "samsa/util/logging.h"

namespace samsa::log {
namespace fs = std::filesystem;
namespace {

auto loader_logger() { return samsa::logger("samsa.log.LogLoader"); }

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "<20 digits>.log" -> base offset.
std::optional<int64_t> base_offset_of(const std::string& name, std::string_view suffix) {
  if (!ends_with(name, suffix) || name.size() != 20 + suffix.size()) return std::nullopt;
  int64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}

// The names in `dir`: one listing serves every step of loading (a broker
// with 100,000 partitions lists 100,000 directories at start).
std::set<std::string> list_names(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename().string());
  return names;
}

}  // namespace

// End offset of the batches in a ".log.swap" file (its base if empty). The
// file was fsynced before it got its .swap name, so headers are enough.
static int64_t swap_end_offset(const std::string& path, int64_t base) {
  auto file = FileHandle::open(path, /*create=*/false);
  const uint64_t size = file->size();
  uint64_t pos = 0;
  int64_t end = base;
  uint8_t buf[protocol::RecordBatchHeader::kSize];
  while (pos + sizeof buf <= size && file->pread_some(buf, pos) == sizeof buf) {
    try {
      auto h = protocol::RecordBatchHeader::parse(buf);
      if (pos + h.size_in_bytes() > size) break;
      end = h.next_offset();
      pos += h.size_in_bytes();
    } catch (const protocol::DecodeError&) {
      break;
    }
  }
  return end;
}

// Compaction's leftovers, as Kafka's LogLoader: ".cleaned" files are an
// unfinished cleaning and go; a "<base>.log.swap" is a finished one whose
// swap was interrupted: the segments it replaces (bases in [base, its end))
// are deleted and it takes its final name. Its index files are dropped and
// rebuilt by recovery (a missing index forces it), whichever step the crash
// interrupted. A replaced segment whose records were all cleaned away may lie
// past the swap's end and survive: it only holds superseded records, which
// the next cleaning removes again.
bool Log::complete_interrupted_swaps(const std::set<std::string>& names) {
  std::vector<fs::path> cleaned;
  std::vector<std::pair<int64_t, fs::path>> swaps;
  for (const std::string& name : names) {
    if (ends_with(name, kCleanedSuffix)) cleaned.push_back(fs::path(dir_) / name);
    if (ends_with(name, std::string(kLogSuffix) + kSwapSuffix)) {
      const std::string stem_name = name.substr(0, name.size() - std::string_view(kSwapSuffix).size());
      if (auto base = base_offset_of(stem_name, kLogSuffix)) swaps.emplace_back(*base, fs::path(dir_) / name);
    }
  }
  if (swaps.empty() && cleaned.empty()) return false;
  for (const auto& p : cleaned) {
    loader_logger()->info("Deleting unfinished cleaner output {}", p.string());
    fs::remove(p);
  }
  std::vector<int64_t> bases;
  for (const std::string& name : list_names(dir_)) {
    if (auto base = base_offset_of(name, kLogSuffix)) bases.push_back(*base);
  }
  for (const auto& [base, path] : swaps) {
    const int64_t end = std::max(swap_end_offset(path.string(), base), base + 1);
    for (int64_t b : bases) {
      if (b < base || b >= end) continue;
      const std::string stem = dir_ + "/" + offset_file_stem(b);
      for (const char* suffix : {kLogSuffix, kIndexSuffix, kTimeIndexSuffix, kTxnIndexSuffix}) fs::remove(stem + suffix);
    }
    const std::string stem = dir_ + "/" + offset_file_stem(base);
    fs::remove(stem + kIndexSuffix);
    fs::remove(stem + kTimeIndexSuffix);
    // The cleaned segment's aborted-transaction index is complete once its
    // .log.swap exists (it is renamed first).
    const std::string txn_swap = stem + kTxnIndexSuffix + kSwapSuffix;
    if (fs::exists(txn_swap)) fs::rename(txn_swap, stem + kTxnIndexSuffix);
    fs::rename(path, stem + kLogSuffix);
    loader_logger()->warn("Completed the interrupted swap of cleaned segment {} (offsets {}..{})",
                          stem + kLogSuffix, base, end - 1);
  }
  fsync_dir(dir_);
  return true;
}

std::set<std::string> Log::remove_temp_files() {
  std::set<std::string> names = list_names(dir_);
  if (complete_interrupted_swaps(names)) names = list_names(dir_);
  std::vector<std::string> doomed;
  for (const std::string& name : names) {
    if (ends_with(name, kDeletedSuffix) || ends_with(name, kCleanedSuffix) ||
        ends_with(name, kSwapSuffix) || ends_with(name, ".tmp")) {
      doomed.push_back(name);
      continue;
    }
    // An index without its .log is an orphan of an interrupted delete.
    for (const char* suffix : {kIndexSuffix, kTimeIndexSuffix, kTxnIndexSuffix}) {
      if (auto base = base_offset_of(name, suffix)) {
        if (!names.count(offset_file_stem(*base) + kLogSuffix)) doomed.push_back(name);
      }
    }
  }
  for (const auto& name : doomed) {
    loader_logger()->info("Deleting stray file {}", dir_ + "/" + name);
    fs::remove(fs::path(dir_) / name);
    names.erase(name);
  }
  return names;
}

void Log::load_segments(bool clean_shutdown, int64_t recovery_point) {
  const std::set<std::string> names = remove_temp_files();
  std::vector<int64_t> bases;
  for (const std::string& name : names) {
    if (auto base = base_offset_of(name, kLogSuffix)) bases.push_back(*base);
  }
  std::sort(bases.begin(), bases.end());
  // Unclean: every segment from the one holding the recovery point on is
  // re-validated; everything before it was flushed and is trusted.
  int64_t recover_from = bases.empty() ? 0 : bases.front();
  for (int64_t b : bases) {
    if (b <= recovery_point) recover_from = b;
  }

  const int64_t now = clock_->now_ms();
  auto on_batch = [this](const protocol::RecordBatchHeader& h) {
    // A recovered transaction marker: the producer state replay must start
    // at or before it to rebuild the .txnindex (load_producer_state).
    if (h.is_control() && !first_recovered_marker_) first_recovered_marker_ = h.base_offset;
    auto latest = epochs_->latest_epoch();
    if (h.partition_leader_epoch >= 0 && (!latest || *latest < h.partition_leader_epoch))
      epochs_->assign(h.partition_leader_epoch, h.base_offset);
  };
  std::map<int64_t, std::shared_ptr<LogSegment>> loaded;
  bool drop_rest = false;
  bool files_cut = false;  // recovery truncated or deleted something
  for (int64_t base : bases) {
    if (drop_rest) {
      auto seg = LogSegment::open(dir_, base, config_, now);
      loader_logger()->warn("Deleting segment {} after a truncated one", seg->log_path());
      seg->delete_files();
      files_cut = true;
      continue;
    }
    const std::string stem_name = offset_file_stem(base);
    auto seg = LogSegment::open(dir_, base, config_, now);
    // An empty segment needs no index files (they appear at the first entry).
    const bool indexes_present =
        seg->size() == 0 || (names.count(stem_name + kIndexSuffix) && names.count(stem_name + kTimeIndexSuffix));
    std::optional<std::string> why;
    if (!indexes_present) {
      why = "missing index file";
    } else if (!clean_shutdown && base >= recover_from) {
      why = "unclean shutdown";
    } else if (auto bad = seg->load_end_state()) {
      why = "corrupt index or log: " + *bad;
      loader_logger()->warn("Found a corrupted index or log in {} ({}), rebuilding",
                            seg->log_path(), *bad);
    }
    if (why) {
      auto result = seg->recover(on_batch);
      if (result.truncated_bytes > 0) {
        loader_logger()->warn(
            "Found invalid messages in log segment {} at byte offset {}: {}. Truncated {} "
            "bytes; later segments are deleted",
            seg->log_path(), result.valid_bytes, result.reason, result.truncated_bytes);
        drop_rest = true;
        files_cut = true;
      } else {
        loader_logger()->debug("Recovered segment {} ({}), {} valid bytes", seg->log_path(), *why,
                               result.valid_bytes);
      }
    }
    loaded[base] = seg;
  }
  if (loaded.empty()) {
    loaded[log_start_offset_] = LogSegment::create(dir_, log_start_offset_, config_, now);
    // Its directory entry is synced with the first flush (or right away when
    // every append is acknowledged only once durable).
    dir_entries_unsynced_.store(true);
    if (config_.fsync_per_append) sync_dir_if_needed();
  }
  // Only the active segment keeps preallocated index files.
  for (auto it = loaded.begin(); it != loaded.end(); ++it) {
    if (std::next(it) == loaded.end()) {
      it->second->on_become_active();
    } else {
      it->second->on_become_inactive();
    }
  }
  const int64_t leo = loaded.rbegin()->second->next_offset();
  {
    std::lock_guard lock(state_mu_);
    segments_ = std::move(loaded);
    log_end_offset_ = leo;
    log_start_offset_ = std::clamp(log_start_offset_, segments_.begin()->first, leo);
    recovery_point_ = std::clamp(recovery_point, log_start_offset_, leo);
    durable_offset_ = recovery_point_;
    high_watermark_ = initial_high_watermark_ ? std::clamp(*initial_high_watermark_, log_start_offset_, leo) : leo;
    needs_flush_ = files_cut;
  }
  epochs_->truncate_from_end(leo);
  epochs_->truncate_from_start(log_start_offset());
  loader_logger()->info("Loaded {} with {} segments, log start offset {}, log end offset {} ({})",
                        tp_.dir_name(), segments_.size(), log_start_offset(), leo,
                        clean_shutdown ? "clean shutdown" : "recovered");
}

LogResult<int64_t> Log::truncate_to(int64_t offset) {
  std::lock_guard lock(append_mu_);
  // Staged appends first, so the log end below counts them.
  if (auto err = write_staged_or_fail_locked()) return *err;
  if (offset >= log_end_offset()) {
    // Nothing to cut, but the epoch cache may still name an epoch starting
    // at or past `offset` (a follower's diverging epoch, as Kafka's
    // truncateTo always trims it): else the next fetch sends that epoch
    // again and the leader answers the same divergence forever.
    epochs_->truncate_from_end(offset);
    return log_end_offset();
  }
  if (offset < log_start_offset())
    return log_error(LogErrc::kOffsetOutOfRange, "cannot truncate below the log start offset");
  // A background flush running now could move the recovery point past the cut.
  committer_.stop();
  const CommitterResume resume{committer_};
  try {
    std::vector<std::shared_ptr<LogSegment>> doomed;
    std::shared_ptr<LogSegment> active;
    {
      std::lock_guard state(state_mu_);
      while (segments_.size() > 1 && segments_.rbegin()->first >= offset) {
        doomed.push_back(segments_.rbegin()->second);
        segments_.erase(std::prev(segments_.end()));
      }
      active = segments_.rbegin()->second;
    }
    for (auto& seg : doomed) seg->delete_files();
    uint64_t removed = active->truncate_to(offset);
    active->on_become_active();
    {
      std::lock_guard state(state_mu_);
      log_end_offset_ = active->next_offset();
      high_watermark_ = std::min(high_watermark_, log_end_offset_);
      recovery_point_ = std::min(recovery_point_, log_end_offset_);
      durable_offset_ = std::min(durable_offset_, log_end_offset_);
      flush_wanted_ = std::min(flush_wanted_, log_end_offset_);
      needs_flush_ = true;
    }
    epochs_->truncate_from_end(log_end_offset());
    // Producer state after the cut: the newest snapshot at or below it plus
    // the batches from there on.
    rebuild_producer_state_locked(/*clean_shutdown=*/false);
    loader_logger()->info("Truncated {} to offset {} ({} segments deleted, {} bytes cut)",
                          tp_.dir_name(), offset, doomed.size(), removed);
    return log_end_offset();
  } catch (const std::exception& e) {
    return fail_io(std::string("truncation failed: ") + e.what());
  }
}

LogResult<int64_t> Log::truncate_fully_and_start_at(int64_t offset) {
  std::lock_guard lock(append_mu_);
  if (offline()) return log_error(LogErrc::kStorageError, tp_.dir_name() + " is offline after an I/O error");
  if (closed_) return log_error(LogErrc::kLogClosed, tp_.dir_name() + " is closed");
  if (auto err = write_staged_or_fail_locked()) return *err;  // as truncate_to
  if (offset < 0) return log_error(LogErrc::kOffsetOutOfRange, "cannot start a log at a negative offset");
  committer_.stop();
  const CommitterResume resume{committer_};
  try {
    std::vector<std::shared_ptr<LogSegment>> doomed;
    {
      std::lock_guard state(state_mu_);
      for (auto& [base, seg] : segments_) doomed.push_back(seg);
    }
    // The fresh segment first, so the map is never empty for readers; a
    // segment already based at `offset` is replaced in place.
    for (auto& seg : doomed)
      if (seg->base_offset() == offset) seg->delete_files();
    auto fresh = LogSegment::create(dir_, offset, config_, clock_->now_ms());
    dir_entries_unsynced_.store(true);
    {
      std::lock_guard state(state_mu_);
      segments_.clear();
      segments_[offset] = fresh;
      log_start_offset_ = offset;
      log_end_offset_ = offset;
      high_watermark_ = offset;
      recovery_point_ = offset;
      durable_offset_ = offset;
      flush_wanted_ = offset;
      pending_flush_offset_ = -1;
      unflushed_messages_ = 0;
      needs_flush_ = true;
    }
    for (auto& seg : doomed)
      if (seg->base_offset() != offset) seg->delete_files();
    epochs_->clear();
    // No batch is left to replay: every snapshot goes, the state is empty.
    producers_->delete_snapshots_above(-1);
    rebuild_producer_state_locked(/*clean_shutdown=*/true);
    loader_logger()->info("Truncated {} fully; the log starts again at offset {} ({} segments deleted)",
                          tp_.dir_name(), offset, doomed.size());
    return offset;
  } catch (const std::exception& e) {
    return fail_io(std::string("full truncation failed: ") + e.what());
  }
}

}  // namespace samsa::log
