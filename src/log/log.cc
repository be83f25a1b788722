// Log: opening, appends, roll, flush and close. Reads are in log_read.cc,
// loading/recovery in log_recovery.cc, retention in log_retention.cc.
#include "samsa/log/log.h"

#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "samsa/log/producer_snapshot.h"
#include "samsa/util/file_util.h"
#include "samsa/util/logging.h"

namespace samsa::log {
namespace {

auto log_logger() { return samsa::logger("samsa.log.UnifiedLog"); }

LogError storage_error(const std::exception& e) { return log_error(LogErrc::kStorageError, e.what()); }

// Write to "<path>.tmp" and rename: a reader sees the whole file or none,
// but nothing is fsynced (the caller does that later).
void write_file_unsynced(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    auto f = FileHandle::open(tmp, /*create=*/true);
    f->truncate(0);
    f->pwrite_all(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(content.data()), content.size()), 0);
  }
  rename_file(tmp, path);
}

}  // namespace

Log::Log(LogOpenOptions o)
    : dir_(o.dir),
      tp_(o.tp),
      topic_id_(o.topic_id),
      clock_(o.clock ? o.clock : SystemClock::instance()),
      background_(std::move(o.background)),
      background_after_(std::move(o.background_after)),
      on_io_error_(std::move(o.on_io_error)),
      flusher_(std::move(o.flusher)),
      committer_({.end = [this] { return log_end_offset(); },
                  .durable = [this] { return durable_offset(); },
                  .sync = [this](int64_t end) { sync_for_commit(end); },
                  .schedule =
                      [this] {
                        flusher_([weak = self_] {
                          if (auto log = weak.lock()) log->committer_.run();
                        });
                      },
                  .on_durable = [this] { notify_durable(); }}),
      config_(o.config),
      log_start_offset_(o.log_start_offset),
      initial_high_watermark_(o.high_watermark) {}

Log::~Log() = default;

LogResult<std::shared_ptr<Log>> Log::open(LogOpenOptions options) {
  try {
    std::filesystem::create_directories(options.dir);
    const bool clean = options.clean_shutdown;
    const int64_t recovery_point = options.recovery_point;
    std::shared_ptr<Log> log(new Log(options));
    log->self_ = log;

    const std::string meta_path = log->dir_ + "/" + kPartitionMetadataFile;
    std::optional<protocol::Uuid> stored;
    if (auto text = read_text_file(meta_path)) {
      stored = parse_partition_metadata(*text);
      if (!stored) log_logger()->warn("Ignoring malformed {}", meta_path);
    }
    if (stored && !options.topic_id.is_zero() && *stored != options.topic_id)
      return log_error(LogErrc::kInconsistentTopicId,
                       "partition " + log->tp_.dir_name() + " has topic id " + stored->to_string() +
                           ", expected " + options.topic_id.to_string());
    if (stored) {
      log->topic_id_ = *stored;
    } else if (!options.topic_id.is_zero()) {
      if (options.sync_partition_metadata) {
        util::write_file_atomically(meta_path, format_partition_metadata(options.topic_id));
      } else {
        write_file_unsynced(meta_path, format_partition_metadata(options.topic_id));
      }
    }

    log->epochs_ =
        std::make_unique<LeaderEpochCache>(log->dir_ + "/" + kLeaderEpochCheckpointFile);
    log->load_segments(clean, recovery_point);
    log->load_producer_state(clean);
    log->last_flush_ms_ = log->clock_->now_ms();
    return log;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

std::shared_ptr<LogSegment> Log::active_segment() const {
  std::lock_guard lock(state_mu_);
  return segments_.rbegin()->second;
}

std::vector<std::shared_ptr<LogSegment>> Log::segments_snapshot() const {
  std::lock_guard lock(state_mu_);
  std::vector<std::shared_ptr<LogSegment>> out;
  out.reserve(segments_.size());
  for (const auto& [base, seg] : segments_) out.push_back(seg);
  return out;
}

LogResult<AppendInfo> Log::append_as_leader(std::span<uint8_t> batches, int32_t leader_epoch,
                                            AppendOrigin origin, std::optional<uint64_t> verification_guard,
                                            std::shared_ptr<const void> stage_owner) {
  AppendInfo info;
  {
    std::lock_guard lock(append_mu_);
    if (offline()) return log_error(LogErrc::kStorageError, tp_.dir_name() + " is offline after an I/O error");
    if (closed_) return log_error(LogErrc::kLogClosed, tp_.dir_name() + " is closed");
    const int64_t now = clock_->now_ms();
    LeaderAppendContext ctx{next_offset_locked(), leader_epoch, now, origin, tp_.dir_name()};
    auto validated = validate_leader_append(batches, config_, ctx);
    if (!validated) return validated.error();
    ProducerAppendUpdates updates;
    auto producers = check_producers_locked(validated.value(), origin, updates);
    if (!producers) return producers.error();
    if (const auto& dup = producers.value()) {
      info.first_offset = dup->first_offset();
      info.last_offset = dup->last_offset;
      info.log_append_time = dup->timestamp;  // as Kafka answers a duplicate
      info.log_start_offset = log_start_offset();
      info.duplicate = true;
      // The original may still be staged: never answer for bytes not yet in the file.
      if (info.last_offset >= log_end_offset()) {
        if (stage_owner) {
          info.staged = true;  // the caller's write_staged() writes it
        } else if (auto err = write_staged_or_fail_locked()) {
          return *err;
        }
      }
      // The original may still wait for its fsync: so does its retry. (An
      // inline flush finished before this append could take the lock.)
      const bool durable_mode = config_.fsync_per_append || config_.flush_messages != LogConfig::kNever;
      if (durable_mode && flusher_ && durable_offset() <= info.last_offset) {
        request_flush_locked(info.last_offset + 1);
        info.awaits_flush = true;
      }
    } else {
      if (auto err = check_verification_locked(updates, verification_guard)) return *err;
      auto appended = append_validated(batches, validated.value(), /*leader=*/true, std::move(stage_owner));
      if (!appended) return appended;
      info = appended.value();
      producers_->apply(updates, next_offset_locked());
      try {
        track_txns_locked(updates);
      } catch (const std::exception& e) {
        return fail_io(std::string("writing the transaction index failed: ") + e.what());
      }
    }
  }
  return info;
}

LogResult<AppendInfo> Log::append_as_follower(std::span<const uint8_t> batches) {
  std::lock_guard lock(append_mu_);
  if (offline()) return log_error(LogErrc::kStorageError, tp_.dir_name() + " is offline after an I/O error");
  if (closed_) return log_error(LogErrc::kLogClosed, tp_.dir_name() + " is closed");
  auto validated = validate_follower_append(batches, config_, next_offset_locked());
  if (!validated) return validated.error();
  ProducerAppendUpdates updates;
  auto producers = check_producers_locked(validated.value(), AppendOrigin::kReplication, updates);
  if (!producers) return producers.error();
  auto appended = append_validated(batches, validated.value(), /*leader=*/false);
  if (appended) {
    producers_->apply(updates, next_offset_locked());
    try {
      track_txns_locked(updates);
    } catch (const std::exception& e) {
      return fail_io(std::string("writing the transaction index failed: ") + e.what());
    }
  }
  return appended;
}

LogResult<AppendInfo> Log::append_validated(std::span<const uint8_t> bytes, ValidatedAppend& v, bool leader,
                                            std::shared_ptr<const void> stage_owner) {
  AppendInfo& info = v.info;
  if (v.batches.empty()) {
    info.log_start_offset = log_start_offset();
    return info;
  }
  // Appends that must reach the disk before their answer are written at once.
  const bool stage = stage_owner && !config_.fsync_per_append && config_.flush_messages == LogConfig::kNever;
  try {
    if (!stage) write_staged_locked();
    const int64_t now = clock_->now_ms();
    auto seg = active_segment();
    if (seg->should_roll({bytes.size(), info.max_timestamp, info.last_offset, now, config_.segment_bytes, config_.segment_ms})) {
      write_staged_locked();  // the staged appends belong to the old segment
      roll_locked(info.first_offset);
      seg = active_segment();
    }
    if (stage) {
      seg->stage(bytes, v.batches, std::move(stage_owner));
      staged_end_ = info.last_offset + 1;
      info.staged = true;
    } else {
      seg->append(bytes, v.batches);
    }
    for (const auto& b : v.batches)
      epochs_->assign(b.header.partition_leader_epoch, b.header.base_offset);
    if (!stage) publish_end_locked(info.last_offset + 1);
  } catch (const std::exception& e) {
    // Nothing of this append is acknowledged, and the log end may already
    // count bytes that are torn on disk: no further append or read.
    return fail_io(std::string("append failed: ") + e.what());
  }
  int64_t unflushed;
  {
    std::lock_guard lock(state_mu_);
    unflushed_messages_ += info.last_offset - info.first_offset + 1;
    unflushed = unflushed_messages_;
    info.log_start_offset = log_start_offset_;
  }
  if (unflushed >= config_.flush_messages || config_.fsync_per_append) {
    if (leader && flusher_) {
      // Group commit: the Produce answer waits for the flusher instead.
      request_flush_locked(info.last_offset + 1);
      info.awaits_flush = true;
      return info;
    }
    try {
      flush();
    } catch (const std::exception& e) {
      return fail_io(std::string("flush failed: ") + e.what());
    }
  }
  return info;
}

void Log::request_flush_locked(int64_t offset) {
  {
    std::lock_guard lock(state_mu_);
    unflushed_messages_ = 0;
    flush_wanted_ = std::max(flush_wanted_, offset);
  }
  committer_.request(offset);
}

void Log::sync_for_commit(int64_t end) {
  // Offline (a failure here or elsewhere in the dir): its waiters must learn
  // it, and nothing more is flushed.
  if (offline()) throw std::runtime_error(tp_.dir_name() + " is offline");
  try {
    int64_t from;
    {
      std::lock_guard lock(state_mu_);
      from = durable_offset_;
      end = std::min(end, log_end_offset_);
    }
    if (end <= from) return;
    // Only the segment files' data: the indexes are rebuilt from it by a
    // recovery (above the recovery point), so they wait for flush().
    for (const auto& seg : segments_snapshot()) {
      if (seg->base_offset() >= end) break;
      if (seg->next_offset() <= from && seg->size() > 0) continue;
      seg->log_file()->fsync();
    }
    // A rolled segment's directory entry, or its fsynced data could vanish.
    sync_dir_if_needed();
    fsyncs_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(state_mu_);
    durable_offset_ = std::max(durable_offset_, end);
  } catch (const std::exception& e) {
    fail_io(std::string("flush failed: ") + e.what());
    throw;
  }
}

void Log::set_durable_listener(std::function<void()> listener) {
  std::lock_guard lock(listener_mu_);
  durable_listener_ = std::move(listener);
}

void Log::notify_durable() {
  std::function<void()> listener;
  {
    std::lock_guard lock(listener_mu_);
    listener = durable_listener_;
  }
  if (listener) listener();
}

void Log::publish_end_locked(int64_t leo) {
  std::lock_guard lock(state_mu_);
  log_end_offset_ = leo;
}

void Log::write_staged_locked() {
  if (staged_end_ < 0) return;
  const int64_t end = std::exchange(staged_end_, -1);
  active_segment()->write_staged();
  publish_end_locked(end);
}

std::optional<LogError> Log::write_staged_or_fail_locked() {
  try {
    write_staged_locked();
  } catch (const std::exception& e) {
    return fail_io(std::string("append failed: ") + e.what());
  }
  return std::nullopt;
}

LogResult<int64_t> Log::write_staged(int64_t end_offset) {
  // Usually another answer of the same turn (or a roll, or another thread's
  // append) wrote it already: no append lock for that.
  if (int64_t leo = log_end_offset(); leo >= end_offset) return leo;
  std::lock_guard lock(append_mu_);
  if (int64_t leo = log_end_offset(); leo >= end_offset) return leo;
  if (offline()) {
    drop_staged_locked();
    return log_error(LogErrc::kStorageError, tp_.dir_name() + " is offline after an I/O error");
  }
  if (closed_ || staged_end_ < end_offset) return log_error(LogErrc::kLogClosed, tp_.dir_name() + " is closed");
  if (auto err = write_staged_or_fail_locked()) return *err;
  return log_end_offset();
}

void Log::roll() {
  std::lock_guard lock(append_mu_);
  try {
    write_staged_locked();
    roll_locked(log_end_offset());
  } catch (const std::exception& e) {
    fail_io(std::string("roll failed: ") + e.what());
    throw;
  }
}

void Log::sync_dir_if_needed() {
  if (dir_entries_unsynced_.exchange(false)) {
    try {
      fsync_dir(dir_);
    } catch (...) {
      dir_entries_unsynced_.store(true);
      throw;
    }
  }
}

void Log::mark_offline() { offline_.store(true, std::memory_order_release); }

LogError Log::fail_io(const std::string& what) {
  if (!offline_.exchange(true, std::memory_order_acq_rel)) {
    log_logger()->error("Error while writing to {} in dir {}: {}; the log is offline", tp_.dir_name(), dir_, what);
    if (on_io_error_) on_io_error_(what);
  }
  return log_error(LogErrc::kStorageError, tp_.dir_name() + ": " + what);
}

void Log::roll_locked(int64_t new_base) {
  auto old = active_segment();
  if (old->size() == 0) return;  // an empty active segment is already "rolled"
  // Kafka's layout: the producer state as of the new segment's base, so a
  // restart replays at most the active segment.
  if (background_) {
    // Written now (readers find it), made durable off this thread: a crash
    // before the fsync leaves a torn snapshot, which loading drops (CRC)
    // before replaying the log instead.
    snapshot_producers_locked(new_base, /*sync=*/false);
    background_([path = producer_snapshot_path(dir_, new_base), name = tp_.dir_name(), on_io_error = on_io_error_] {
      try {
        util::sync_file(path);
      } catch (const std::exception& e) {
        // As any failed write of the log: its dir goes offline (Kafka's
        // flush-producer-state-snapshot job fails the dir the same way).
        log_logger()->error("Flushing the producer snapshot of {} failed: {}", name, e.what());
        if (on_io_error) on_io_error(std::string("producer snapshot fsync failed: ") + e.what());
      }
    });
  } else {
    snapshot_producers_locked(new_base);
  }
  auto fresh = LogSegment::create(dir_, new_base, config_, clock_->now_ms());
  old->on_become_inactive();
  // The new file's directory entry is synced by the next flush (before any
  // append to it counts as durable), or it could vanish in a crash.
  dir_entries_unsynced_.store(true);
  {
    std::lock_guard lock(state_mu_);
    segments_[new_base] = fresh;
    pending_flush_offset_ = new_base;
  }
  log_logger()->info("Rolled new log segment {} at offset {} for {}", fresh->log_path(), new_base,
                     tp_.dir_name());
}

void Log::flush_up_to(int64_t offset_exclusive) {
  int64_t recovery_point;
  {
    std::lock_guard lock(state_mu_);
    recovery_point = recovery_point_;
    offset_exclusive = std::min(offset_exclusive, log_end_offset_);
  }
  if (offset_exclusive <= recovery_point) return;
  for (const auto& seg : segments_snapshot()) {
    if (seg->base_offset() >= offset_exclusive) break;
    if (seg->next_offset() <= recovery_point && seg->size() > 0) continue;
    seg->flush();
  }
  sync_dir_if_needed();
  fsyncs_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(state_mu_);
  recovery_point_ = std::max(recovery_point_, offset_exclusive);
  durable_offset_ = std::max(durable_offset_, recovery_point_);
  if (pending_flush_offset_ >= 0 && pending_flush_offset_ <= offset_exclusive)
    pending_flush_offset_ = -1;
}

void Log::flush() {
  int64_t leo;
  bool forced;
  {
    std::lock_guard lock(state_mu_);
    leo = log_end_offset_;
    forced = needs_flush_;
    unflushed_messages_ = 0;
    last_flush_ms_ = clock_->now_ms();
  }
  // Indexes too, so the recovery point may skip this data on restart.
  // Nothing new since the last flush: nothing to fsync (closing 100,000
  // idle partitions must not cost 100,000 fsyncs).
  const int64_t flushed = recovery_point();
  if (leo > flushed || forced) {
    for (const auto& seg : segments_snapshot()) {
      if (seg->next_offset() > flushed || seg == active_segment()) seg->flush();
    }
    fsyncs_.fetch_add(1, std::memory_order_relaxed);
  }
  // Segments created since the last flush: their directory entries too (as
  // Kafka's LocalLog.flush does).
  sync_dir_if_needed();
  std::lock_guard lock(state_mu_);
  recovery_point_ = std::max(recovery_point_, leo);
  durable_offset_ = std::max(durable_offset_, recovery_point_);
  pending_flush_offset_ = -1;
  needs_flush_ = false;
}

void Log::maybe_flush(int64_t now_ms) {
  int64_t pending, last;
  LogConfig cfg = config();
  {
    std::lock_guard lock(state_mu_);
    pending = pending_flush_offset_;
    last = last_flush_ms_;
  }
  if (cfg.flush_ms != LogConfig::kNever && now_ms - last >= cfg.flush_ms) {
    flush();
  } else if (pending >= 0) {
    flush_up_to(pending);
  }
}

void Log::close() {
  std::lock_guard lock(append_mu_);
  if (closed_) return;
  // An offline log's files are in an unknown state: recovery on the next
  // start sorts them out, nothing is flushed or snapshotted now.
  if (offline()) {
    closed_ = true;
    return;
  }
  closed_ = true;
  // No background flush may touch the files close() is about to close.
  committer_.stop();
  try {
    write_staged_locked();
    flush();
    snapshot_producers_locked(log_end_offset());
    active_segment()->close();
  } catch (const std::exception& e) {
    // Reported so the dir is not marked cleanly shut down.
    fail_io(std::string("close failed: ") + e.what());
    throw;
  }
}

void Log::mark_deleted() {
  std::lock_guard lock(append_mu_);
  closed_ = true;
  // The directory is renamed and removed next: a background flush syncing
  // it by its old name would fail and take the whole log dir offline.
  committer_.stop();
  drop_staged_locked();  // never written now: their answers say so
}

void Log::drop_staged_locked() {
  if (staged_end_ < 0) return;
  staged_end_ = -1;
  active_segment()->drop_staged();  // lets the request frames (and their budget) go
}

int64_t Log::log_start_offset() const {
  std::lock_guard lock(state_mu_);
  return log_start_offset_;
}

int64_t Log::log_end_offset() const {
  std::lock_guard lock(state_mu_);
  return log_end_offset_;
}

int64_t Log::high_watermark() const {
  std::lock_guard lock(state_mu_);
  return high_watermark_;
}

int64_t Log::recovery_point() const {
  std::lock_guard lock(state_mu_);
  return recovery_point_;
}

int64_t Log::durable_offset() const {
  std::lock_guard lock(state_mu_);
  return durable_offset_;
}

void Log::set_high_watermark(int64_t offset) {
  std::lock_guard lock(state_mu_);
  high_watermark_ = std::clamp(offset, log_start_offset_, log_end_offset_);
  prune_replicated_txns_locked();
}

void Log::advance_high_watermark(int64_t offset) {
  std::lock_guard lock(state_mu_);
  const int64_t visible = flush_wanted_ > durable_offset_ ? durable_offset_ : log_end_offset_;
  high_watermark_ =
      std::max(high_watermark_, std::clamp(std::min(offset, visible), log_start_offset_, log_end_offset_));
  prune_replicated_txns_locked();
}

LogConfig Log::config() const {
  std::lock_guard lock(state_mu_);
  return config_;
}

void Log::update_config(const LogConfig& config) {
  std::lock_guard append_lock(append_mu_);
  std::lock_guard lock(state_mu_);
  config_ = config;
  producers_->set_expiration_ms(config.producer_id_expiration_ms);
}

std::vector<int64_t> Log::segment_base_offsets() const {
  std::lock_guard lock(state_mu_);
  std::vector<int64_t> out;
  for (const auto& [base, seg] : segments_) out.push_back(base);
  return out;
}

uint64_t Log::size_in_bytes() const {
  uint64_t total = 0;
  for (const auto& seg : segments_snapshot()) total += seg->size();
  return total;
}

}  // namespace samsa::log
