// LogCleaner: the cleaner thread, the choice of the dirtiest log and the
// cleaner-offset-checkpoint files (Kafka's LogCleaner + LogCleanerManager).
#include <algorithm>

#include "samsa/log/log_cleaner.h"
#include "samsa/util/logging.h"

namespace samsa::log {
namespace {

auto manager_logger() { return samsa::logger("samsa.log.LogCleanerManager"); }

bool contains(std::vector<std::weak_ptr<Log>>& logs, const std::shared_ptr<Log>& log) {
  std::erase_if(logs, [](const std::weak_ptr<Log>& w) { return w.expired(); });
  for (const auto& w : logs) {
    if (!w.owner_before(log) && !log.owner_before(w)) return true;
  }
  return false;
}

}  // namespace

LogCleaner::LogCleaner(CleanerConfig config, std::vector<std::string> log_dirs, LogsFn logs,
                       std::shared_ptr<Clock> clock)
    : config_(config),
      log_dirs_(std::move(log_dirs)),
      logs_(std::move(logs)),
      clock_(clock ? std::move(clock) : SystemClock::instance()),
      cleaner_(config_, clock_),
      checkpoints_(log_dirs_.size()) {
  cleaner_.set_abort_check([this] { return abort_current_.load(std::memory_order_relaxed); });
}

LogCleaner::~LogCleaner() { shutdown(); }

void LogCleaner::startup() {
  std::lock_guard lifecycle(lifecycle_mu_);
  for (size_t i = 0; i < log_dirs_.size(); ++i) {
    auto loaded = read_offset_checkpoint(log_dirs_[i] + "/" + kCleanerCheckpointFile);
    if (!loaded) {
      manager_logger()->warn("Ignoring malformed {} in {}", kCleanerCheckpointFile, log_dirs_[i]);
      loaded = OffsetCheckpoint{};
    }
    std::lock_guard lock(mu_);
    checkpoints_[i] = std::move(*loaded);
  }
  started_ = true;
  if (config_.enable) start_thread();
}

void LogCleaner::start_thread() {
  std::lock_guard lock(mu_);
  stop_ = false;
  thread_ = std::thread([this] { run(); });
  manager_logger()->info("Starting the log cleaner (backoff {} ms, dedupe buffer {} bytes)", config_.backoff_ms,
                         config_.dedupe_buffer_size);
}

void LogCleaner::shutdown() {
  std::lock_guard lifecycle(lifecycle_mu_);
  started_ = false;
  stop_thread();
}

void LogCleaner::stop_thread() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    abort_current_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  abort_current_ = false;
}

void LogCleaner::reconfigure(const CleanerConfig& config) {
  std::lock_guard lifecycle(lifecycle_mu_);
  stop_thread();
  // Only the (now stopped) thread reads config_ and cleaner_.
  config_ = config;
  cleaner_ = Cleaner(config_, clock_);
  cleaner_.set_abort_check([this] { return abort_current_.load(std::memory_order_relaxed); });
  if (started_ && config_.enable) start_thread();
}

CleanerConfig LogCleaner::config() const {
  std::lock_guard lifecycle(lifecycle_mu_);
  return config_;
}

void LogCleaner::run() {
  while (true) {
    std::optional<CleanStats> stats;
    try {
      stats = clean_dirtiest();
    } catch (const std::exception& e) {
      manager_logger()->error("Log cleaner round failed: {}", e.what());
    }
    std::unique_lock lock(mu_);
    if (stop_) return;
    if (!stats || !stats->cleaned) {
      cv_.wait_for(lock, std::chrono::milliseconds(config_.backoff_ms), [this] { return stop_; });
      if (stop_) return;
    }
  }
}

std::optional<CleanStats> LogCleaner::clean_dirtiest() {
  const int64_t now = clock_->now_ms();
  std::shared_ptr<Log> best;
  size_t best_dir = 0;
  double best_ratio = -1;
  std::optional<int64_t> best_checkpoint;
  for (const auto& [log, dir_index] : logs_()) {
    const LogConfig cfg = log->config();
    if (!cfg.compact_enabled()) continue;
    const TopicPartition& tp = log->topic_partition();
    std::optional<int64_t> checkpoint;
    {
      std::lock_guard lock(mu_);
      if (contains(removed_, log) || contains(uncleanable_, log)) continue;
      auto it = checkpoints_[dir_index].find(tp);
      if (it != checkpoints_[dir_index].end()) checkpoint = it->second;
    }
    CleanableRange range = cleanable_range(*log, checkpoint, now);
    if (range.dirty_bytes == 0) continue;
    double ratio = range.dirty_ratio();
    if (ratio < cfg.min_cleanable_dirty_ratio && !range.max_lag_exceeded) continue;
    if (range.max_lag_exceeded) ratio += 1.0;  // overdue logs first
    if (ratio > best_ratio) {
      best = log;
      best_dir = dir_index;
      best_ratio = ratio;
      best_checkpoint = checkpoint;
    }
  }
  if (!best) return std::nullopt;
  const TopicPartition tp = best->topic_partition();
  {
    std::lock_guard lock(mu_);
    if ((stop_ && thread_.joinable()) || contains(removed_, best)) return std::nullopt;
    in_progress_ = best.get();
  }
  CleanStats stats;
  try {
    stats = cleaner_.clean(*best, best_checkpoint);
  } catch (const std::exception& e) {
    manager_logger()->error("Cleaning {} failed, it is not cleaned again until a restart: {}", tp.dir_name(),
                            e.what());
    std::lock_guard lock(mu_);
    uncleanable_.push_back(best);
    in_progress_ = nullptr;
    cv_.notify_all();
    return stats;
  }
  bool write = false;
  {
    std::lock_guard lock(mu_);
    in_progress_ = nullptr;
    if (stats.cleaned && !contains(removed_, best)) {
      checkpoints_[best_dir][tp] = stats.end_offset;
      write = true;
    }
  }
  cv_.notify_all();
  if (write) write_checkpoint(best_dir);
  return stats;
}

void LogCleaner::remove(const std::shared_ptr<Log>& log) {
  const TopicPartition& tp = log->topic_partition();
  bool write_dirs = false;
  std::unique_lock lock(mu_);
  removed_.push_back(log);
  if (in_progress_ == log.get()) {
    abort_current_ = true;
    cv_.wait(lock, [&] { return in_progress_ != log.get(); });
    abort_current_ = false;
  }
  for (auto& cp : checkpoints_) write_dirs |= cp.erase(tp) > 0;
  lock.unlock();
  if (write_dirs) {
    for (size_t i = 0; i < log_dirs_.size(); ++i) write_checkpoint(i);
  }
}

std::optional<int64_t> LogCleaner::checkpoint_of(const TopicPartition& tp) const {
  std::lock_guard lock(mu_);
  for (const auto& cp : checkpoints_) {
    if (auto it = cp.find(tp); it != cp.end()) return it->second;
  }
  return std::nullopt;
}

void LogCleaner::write_checkpoint(size_t dir_index) {
  std::lock_guard serial(checkpoint_write_mu_);
  OffsetCheckpoint copy;
  {
    std::lock_guard lock(mu_);
    copy = checkpoints_[dir_index];
  }
  try {
    write_offset_checkpoint(log_dirs_[dir_index] + "/" + kCleanerCheckpointFile, copy);
  } catch (const std::exception& e) {
    manager_logger()->error("Writing {} in {} failed: {}", kCleanerCheckpointFile, log_dirs_[dir_index], e.what());
  }
}

}  // namespace samsa::log
