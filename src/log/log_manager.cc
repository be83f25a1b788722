#include "samsa/log/log_manager.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "samsa/util/file_util.h"
#include "samsa/util/logging.h"

namespace samsa::log {
namespace fs = std::filesystem;
namespace {

auto manager_logger() { return samsa::logger("samsa.log.LogManager"); }

// Threads opening new logs of one get_or_create_all (I/O bound).
constexpr size_t kCreateThreads = 8;
// New logs whose partition.metadata flush_check() syncs per call, and the
// backlog above which one syncfs replaces the per-file fsyncs.
constexpr size_t kSyncPerCheck = 256;  // short: it runs on the scheduler thread
constexpr size_t kSyncfsAbove = 4096;
// A get_or_create_all creating this many logs syncs them on the background thread.
constexpr size_t kBackgroundSyncfsFrom = 1024;

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

LogManager::LogManager(LogManagerConfig config, std::shared_ptr<Clock> clock)
    : config_(std::move(config)), clock_(clock ? clock : SystemClock::instance()) {}

LogManager::~LogManager() {
  if (started_) shutdown();
  for (int fd : lock_fds_) ::close(fd);  // a startup that failed half way
}

void LogManager::startup() {
  {
    std::lock_guard lock(dirs_mu_);
    dir_offline_.assign(config_.log_dirs.size(), false);
  }
  for (const auto& dir : config_.log_dirs) {
    util::Env::for_path(dir).create_dirs(dir);
    const std::string lock_path = dir + "/.lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      if (fd >= 0) ::close(fd);
      throw std::system_error(err, std::generic_category(),
                              "cannot lock " + dir + " (is another broker using it?)");
    }
    lock_fds_.push_back(fd);
  }
  dir_counts_.assign(config_.log_dirs.size(), 0);
  for (size_t i = 0; i < config_.log_dirs.size(); ++i) load_dir(i);
  cleaner_ = std::make_unique<LogCleaner>(config_.cleaner, config_.log_dirs, [this] { return snapshot(); }, clock_);
  cleaner_->set_io_error_handler([this](size_t dir_index, const std::string& why) { mark_dir_offline(dir_index, why); });
  cleaner_->startup();
  started_ = true;
}

void LogManager::load_dir(size_t dir_index) {
  const std::string& dir = config_.log_dirs[dir_index];
  const std::string marker = dir + "/" + kCleanShutdownFile;
  const bool clean = file_exists(marker);
  auto recovery_points = read_offset_checkpoint(dir + "/" + kRecoveryPointCheckpointFile);
  auto start_offsets = read_offset_checkpoint(dir + "/" + kLogStartOffsetCheckpointFile);
  auto high_watermarks = read_offset_checkpoint(dir + "/" + kReplicationOffsetCheckpointFile);
  if (!high_watermarks) {
    // As Kafka: unreadable means every high watermark starts at the log
    // start; leaders move theirs up again, followers learn it from them.
    manager_logger()->warn("Ignoring malformed replication offset checkpoint in {}", dir);
    high_watermarks = OffsetCheckpoint{};
  }
  if (!recovery_points) {
    manager_logger()->warn("Ignoring malformed recovery point checkpoint in {}", dir);
    recovery_points = OffsetCheckpoint{};
  }
  if (!start_offsets) {
    manager_logger()->warn("Ignoring malformed log start offset checkpoint in {}", dir);
    start_offsets = OffsetCheckpoint{};
  }

  std::vector<std::pair<TopicPartition, std::string>> todo;
  for (const auto& entry : util::Env::for_path(dir).list_dir(dir)) {
    if (!entry.is_directory) continue;
    const std::string& name = entry.name;
    if (ends_with(name, "-delete")) {
      // A deletion interrupted by a stop: finish it.
      util::remove_tree(dir + "/" + name);
      continue;
    }
    auto tp = TopicPartition::from_dir_name(name);
    if (!tp || ends_with(name, "-future") || ends_with(name, "-stray")) continue;
    if (tp->topic == "__cluster_metadata") continue;  // the raft layer owns the metadata log
    todo.emplace_back(*tp, dir + "/" + name);
  }

  // num.recovery.threads.per.data.dir workers take partitions in turn.
  std::mutex next_mu;
  size_t next = 0;
  std::vector<std::string> failures;  // under next_mu
  std::string first_failure;
  auto worker = [&] {
    while (true) {
      size_t i;
      {
        std::lock_guard lock(next_mu);
        if (next >= todo.size()) return;
        i = next++;
      }
      const auto& [tp, path] = todo[i];
      LogOpenOptions o;
      o.dir = path;
      o.tp = tp;
      o.config = config_.config_for ? config_.config_for(tp) : config_.default_config;
      o.clock = clock_;
      o.background = config_.background;
      o.background_after = config_.background_after;
      o.flusher = config_.flusher;
      o.clean_shutdown = clean;
      auto rp = recovery_points->find(tp);
      o.recovery_point = rp != recovery_points->end() ? rp->second : 0;
      auto so = start_offsets->find(tp);
      o.log_start_offset = so != start_offsets->end() ? so->second : 0;
      auto hw = high_watermarks->find(tp);
      o.high_watermark = hw != high_watermarks->end() ? hw->second : 0;
      o.on_io_error = io_error_handler(dir_index);
      auto log = Log::open(o);
      if (!log) {
        // Never skipped: a broker that started without this log would
        // recreate it empty (or delete it as stray) and lose its data.
        manager_logger()->error("Failed to load {}: {}", path, log.error().message);
        std::lock_guard lock(next_mu);
        if (failures.empty()) first_failure = tp.dir_name() + " in " + dir + ": " + log.error().message;
        failures.push_back(tp.dir_name());
        continue;
      }
      std::unique_lock lock(mu_);
      if (logs_.emplace(tp, Entry{log.value(), dir_index}).second) ++dir_counts_[dir_index];
    }
  };
  const int threads = std::max(1, config_.num_recovery_threads_per_data_dir);
  std::vector<std::thread> pool;
  for (int t = 1; t < threads && static_cast<size_t>(t) < todo.size(); ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (!failures.empty()) {
    throw std::runtime_error("cannot load " + std::to_string(failures.size()) + " of " +
                             std::to_string(todo.size()) + " logs in " + dir + "; first: " + first_failure +
                             " (fix or move the directory away, then start again)");
  }

  manager_logger()->info("Loaded {} logs from {} ({} shutdown)", todo.size(), dir,
                         clean ? "clean" : "unclean");
  // From now on a crash is unclean again.
  if (clean) {
    remove_file_if_exists(marker);
    fsync_dir(dir);
  }
}

void LogManager::shutdown() {
  if (!started_) return;
  started_ = false;
  // First: a cleaning pass must not swap segments of a closing log.
  if (cleaner_) cleaner_->shutdown();
  // The exact high watermarks of a clean stop (periodic ones may lag).
  checkpoint_high_watermarks();
  // Closing is fsyncs and truncates: overlap them as loading does.
  auto logs = snapshot();
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t k; (k = next.fetch_add(1)) < logs.size();) {
      const auto& log = logs[k].first;
      try {
        log->close();
      } catch (const std::exception& e) {
        manager_logger()->error("Closing {} failed: {}", log->dir(), e.what());
      }
    }
  };
  const size_t threads = std::max<size_t>(1, static_cast<size_t>(config_.num_recovery_threads_per_data_dir) *
                                                 config_.log_dirs.size());
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads && t < logs.size(); ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  sync_new_logs(SIZE_MAX);
  checkpoint();
  for (size_t i = 0; i < config_.log_dirs.size(); ++i) {
    // An offline dir was not shut down cleanly: its logs must be recovered.
    if (!dir_online(i)) continue;
    guard_dir(i, "writing the clean shutdown marker", [&] {
      util::write_file_atomically(config_.log_dirs[i] + "/" + kCleanShutdownFile, std::string_view{});
    });
  }
  for (int fd : lock_fds_) ::close(fd);
  lock_fds_.clear();
  std::unique_lock lock(mu_);
  logs_.clear();
}

size_t LogManager::pick_dir_locked() {
  // Offline dirs take no new logs.
  size_t best = SIZE_MAX;
  for (size_t i = 0; i < dir_counts_.size(); ++i) {
    if (!dir_online(i)) continue;
    if (best == SIZE_MAX || dir_counts_[i] < dir_counts_[best]) best = i;
  }
  if (best != SIZE_MAX) ++dir_counts_[best];
  return best;
}

LogOpenOptions LogManager::new_log_options(const NewLog& n, size_t dir_index) {
  TopicPartition tp{n.topic, n.partition};
  LogOpenOptions o;
  o.dir = config_.log_dirs[dir_index] + "/" + tp.dir_name();
  o.tp = tp;
  o.topic_id = n.topic_id;
  o.config = n.config;
  o.clock = clock_;
  o.background = config_.background;
  o.flusher = config_.flusher;
  o.clean_shutdown = true;  // a new directory has nothing to recover
  o.on_io_error = io_error_handler(dir_index);
  return o;
}

LogResult<std::shared_ptr<Log>> LogManager::get_or_create(const std::string& topic,
                                                          int32_t partition,
                                                          const protocol::Uuid& topic_id,
                                                          const LogConfig& config) {
  auto all = get_or_create_all({NewLog{topic, partition, topic_id, config}});
  return std::move(all.front());
}

std::vector<LogResult<std::shared_ptr<Log>>> LogManager::get_or_create_all(const std::vector<NewLog>& logs) {
  std::vector<LogResult<std::shared_ptr<Log>>> out(
      logs.size(), LogResult<std::shared_ptr<Log>>(log_error(LogErrc::kStorageError, "not created")));
  // Existing logs answer at once; the others get a dir (counted now, so a
  // concurrent creation balances too) and are opened below.
  std::vector<std::pair<size_t, size_t>> todo;  // (index in logs, dir index)
  {
    std::unique_lock lock(mu_);
    if (dir_counts_.size() != config_.log_dirs.size()) dir_counts_.assign(config_.log_dirs.size(), 0);
    for (size_t i = 0; i < logs.size(); ++i) {
      const NewLog& n = logs[i];
      auto it = logs_.find(TopicPartition{n.topic, n.partition});
      if (it == logs_.end()) {
        const size_t dir_index = pick_dir_locked();
        if (dir_index == SIZE_MAX) {
          out[i] = log_error(LogErrc::kStorageError, "every log dir is offline");
        } else {
          todo.emplace_back(i, dir_index);
        }
        continue;
      }
      const auto& existing = it->second.log;
      if (!n.topic_id.is_zero() && !existing->topic_id().is_zero() && existing->topic_id() != n.topic_id) {
        out[i] = log_error(LogErrc::kInconsistentTopicId,
                           TopicPartition{n.topic, n.partition}.dir_name() + " has another topic id");
      } else {
        out[i] = existing;
      }
    }
  }
  if (todo.empty()) return out;
  // Creating a log is mostly waiting for fsyncs: a few threads overlap them
  // (the file system commits their journal entries together).
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t k; (k = next.fetch_add(1)) < todo.size();) {
      const auto [i, dir_index] = todo[k];
      LogOpenOptions o = new_log_options(logs[i], dir_index);
      o.sync_partition_metadata = false;  // sync_new_logs() does it, off the request path
      auto log = Log::open(o);
      if (log) {
        std::lock_guard lock(unsynced_mu_);
        unsynced_dirs_.push_back(o.dir);
      }
      if (!log) {
        {
          std::unique_lock lock(mu_);
          --dir_counts_[dir_index];
          out[i] = log.error();
        }
        if (log.error().code == LogErrc::kStorageError)
          mark_dir_offline(dir_index, "creating " + o.dir + " failed: " + log.error().message);
        continue;
      }
      std::unique_lock lock(mu_);
      const TopicPartition& tp = log.value()->topic_partition();
      auto [it, inserted] = logs_.emplace(tp, Entry{log.value(), dir_index});
      if (!inserted) --dir_counts_[dir_index];  // someone else created it meanwhile
      out[i] = it->second.log;
      if (inserted) manager_logger()->info("Created log for {} in {}", tp.dir_name(), log.value()->dir());
    }
  };
  const size_t threads = std::min<size_t>(kCreateThreads, (todo.size() + 15) / 16);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (todo.size() >= kBackgroundSyncfsFrom && config_.background) {
    // Thousands of new logs: write them out now on the background thread
    // (one syncfs), so a stop soon after does not pay for them. The list of
    // unsynced logs stays: their fsyncs are cheap once this ran. The job
    // holds copies only (it may run after this manager is gone).
    config_.background([roots = config_.log_dirs] {
      for (const auto& d : roots) {
        int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) continue;
        ::syncfs(fd);
        ::close(fd);
      }
    });
  }
  return out;
}

std::shared_ptr<Log> LogManager::get(const std::string& topic, int32_t partition) const {
  std::shared_lock lock(mu_);
  auto it = logs_.find(TopicPartition{topic, partition});
  return it == logs_.end() ? nullptr : it->second.log;
}

std::optional<LogManager::Entry> LogManager::detach(const std::string& topic, int32_t partition) {
  Entry entry;
  {
    std::unique_lock lock(mu_);
    auto it = logs_.find(TopicPartition{topic, partition});
    if (it == logs_.end()) return std::nullopt;
    entry = it->second;
    logs_.erase(it);
    if (entry.dir_index < dir_counts_.size()) --dir_counts_[entry.dir_index];
  }
  if (cleaner_) cleaner_->remove(entry.log);
  return entry;
}

bool LogManager::remove(const std::string& topic, int32_t partition) {
  auto detached = detach(topic, partition);
  if (!detached) return false;
  const Entry entry = std::move(*detached);
  entry.log->mark_deleted();
  const std::string& dir = config_.log_dirs[entry.dir_index];
  const std::string doomed =
      dir + "/" + entry.log->topic_partition().dir_name() + "." + unique_suffix() + "-delete";
  try {
    rename_file(entry.log->dir(), doomed);
    fsync_dir(dir);
  } catch (const std::exception& e) {
    manager_logger()->error("Renaming {} for deletion failed: {}", entry.log->dir(), e.what());
    return false;
  }
  try {
    util::remove_tree(doomed);
  } catch (const std::exception& e) {
    // The next start finishes it.
    manager_logger()->warn("Removing {} failed: {}", doomed, e.what());
  }
  manager_logger()->info("Deleted log {}", entry.log->dir());
  checkpoint();
  return true;
}

std::vector<TopicPartition> LogManager::partitions() const {
  std::shared_lock lock(mu_);
  std::vector<TopicPartition> out;
  for (const auto& [tp, e] : logs_) out.push_back(tp);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::pair<std::shared_ptr<Log>, size_t>> LogManager::snapshot() const {
  std::shared_lock lock(mu_);
  std::vector<std::pair<std::shared_ptr<Log>, size_t>> out;
  for (const auto& [tp, e] : logs_) out.emplace_back(e.log, e.dir_index);
  return out;
}

LogResult<int64_t> LogManager::delete_records(const std::string& topic, int32_t partition,
                                              int64_t offset) {
  auto log = get(topic, partition);
  if (!log) return log_error(LogErrc::kLogClosed, "no log for " + topic + "-" + std::to_string(partition));
  auto result = log->delete_records_before(offset);
  if (result) checkpoint();
  return result;
}

size_t LogManager::retention_check() {
  size_t deleted = 0;
  for (const auto& [log, dir_index] : snapshot()) {
    if (log->offline()) continue;
    guard_dir(dir_index, "retention", [&, &log = log] { deleted += log->delete_old_segments(); });
  }
  if (deleted > 0) checkpoint();
  return deleted;
}

void LogManager::sync_new_logs(size_t max) {
  std::vector<std::string> dirs;
  {
    std::lock_guard lock(unsynced_mu_);
    if (max >= unsynced_dirs_.size()) {
      dirs.swap(unsynced_dirs_);
    } else {
      dirs.assign(unsynced_dirs_.end() - static_cast<ptrdiff_t>(max), unsynced_dirs_.end());
      unsynced_dirs_.resize(unsynced_dirs_.size() - max);
    }
  }
  if (dirs.empty()) return;
  if (dirs.size() > kSyncfsAbove) {
    // Thousands of new logs (a stop right after a big CreateTopics): one
    // syncfs per file system instead of two fsyncs each.
    for (const auto& d : config_.log_dirs) {
      int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0 || ::syncfs(fd) != 0)
        manager_logger()->error("Syncing {} failed: {}", d, std::generic_category().message(errno));
      if (fd >= 0) ::close(fd);
    }
    return;
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t k; (k = next.fetch_add(1)) < dirs.size();) {
      try {
        const std::string meta = dirs[k] + "/" + kPartitionMetadataFile;
        if (file_exists(meta)) FileHandle::open(meta, /*create=*/false)->fsync();
        fsync_dir(dirs[k]);
      } catch (const std::exception& e) {
        // Removed meanwhile (DeleteTopics), or a failing disk.
        if (fs::exists(dirs[k])) manager_logger()->error("Syncing the new log {} failed: {}", dirs[k], e.what());
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < kCreateThreads && t * 64 < dirs.size(); ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  // The new directories' own entries.
  for (const auto& d : config_.log_dirs) {
    try {
      fsync_dir(d);
    } catch (const std::exception& e) {
      manager_logger()->error("Syncing {} failed: {}", d, e.what());
    }
  }
}

void LogManager::flush_check() {
  // Bounded: this runs on the scheduler's thread.
  sync_new_logs(kSyncPerCheck);
  const int64_t now = clock_->now_ms();
  for (const auto& [log, dir_index] : snapshot()) {
    if (log->offline()) continue;
    guard_dir(dir_index, "flush", [&, &log = log] { log->maybe_flush(now); });
  }
}

size_t LogManager::remove_expired_producers() {
  size_t removed = 0;
  for (const auto& [log, dir_index] : snapshot()) removed += log->remove_expired_producers();
  return removed;
}

void LogManager::checkpoint_high_watermarks() {
  std::lock_guard serial(checkpoint_mu_);
  std::vector<OffsetCheckpoint> hw(config_.log_dirs.size());
  for (const auto& [log, dir_index] : snapshot()) hw[dir_index][log->topic_partition()] = log->high_watermark();
  for (size_t i = 0; i < config_.log_dirs.size(); ++i) {
    if (!dir_online(i)) continue;
    guard_dir(i, "writing the replication offset checkpoint", [&] {
      write_offset_checkpoint(config_.log_dirs[i] + "/" + kReplicationOffsetCheckpointFile, hw[i]);
    });
  }
}

void LogManager::checkpoint() {
  std::lock_guard serial(checkpoint_mu_);
  std::vector<OffsetCheckpoint> recovery(config_.log_dirs.size()), start(config_.log_dirs.size());
  for (const auto& [log, dir_index] : snapshot()) {
    const TopicPartition& tp = log->topic_partition();
    recovery[dir_index][tp] = log->recovery_point();
    auto bases = log->segment_base_offsets();
    if (!bases.empty() && log->log_start_offset() > bases.front())
      start[dir_index][tp] = log->log_start_offset();
  }
  for (size_t i = 0; i < config_.log_dirs.size(); ++i) {
    if (!dir_online(i)) continue;
    guard_dir(i, "writing checkpoints", [&] {
      write_offset_checkpoint(config_.log_dirs[i] + "/" + kRecoveryPointCheckpointFile, recovery[i]);
      write_offset_checkpoint(config_.log_dirs[i] + "/" + kLogStartOffsetCheckpointFile, start[i]);
    });
  }
}

}  // namespace samsa::log
