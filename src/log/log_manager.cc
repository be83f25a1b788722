#include "samsa/log/log_manager.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <thread>

#include "samsa/util/file_util.h"
#include "samsa/util/logging.h"

namespace samsa::log {
namespace fs = std::filesystem;
namespace {

auto manager_logger() { return samsa::logger("samsa.log.LogManager"); }

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string random_hex() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : protocol::Uuid::random().bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
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
      o.clean_shutdown = clean;
      auto rp = recovery_points->find(tp);
      o.recovery_point = rp != recovery_points->end() ? rp->second : 0;
      auto so = start_offsets->find(tp);
      o.log_start_offset = so != start_offsets->end() ? so->second : 0;
      o.on_io_error = io_error_handler(dir_index);
      auto log = Log::open(o);
      if (!log) {
        manager_logger()->error("Failed to load {}: {}", path, log.error().message);
        continue;
      }
      std::unique_lock lock(mu_);
      logs_[tp] = Entry{log.value(), dir_index};
    }
  };
  const int threads = std::max(1, config_.num_recovery_threads_per_data_dir);
  std::vector<std::thread> pool;
  for (int t = 1; t < threads && static_cast<size_t>(t) < todo.size(); ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();

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
  for (const auto& [log, dir_index] : snapshot()) {
    try {
      log->close();
    } catch (const std::exception& e) {
      manager_logger()->error("Closing {} failed: {}", log->dir(), e.what());
    }
  }
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

LogResult<std::shared_ptr<Log>> LogManager::get_or_create(const std::string& topic,
                                                          int32_t partition,
                                                          const protocol::Uuid& topic_id,
                                                          const LogConfig& config) {
  TopicPartition tp{topic, partition};
  if (auto existing = get(topic, partition)) {
    if (!topic_id.is_zero() && !existing->topic_id().is_zero() && existing->topic_id() != topic_id)
      return log_error(LogErrc::kInconsistentTopicId, tp.dir_name() + " has another topic id");
    return existing;
  }
  std::unique_lock lock(mu_);
  if (auto it = logs_.find(tp); it != logs_.end()) return it->second.log;
  std::vector<size_t> counts(config_.log_dirs.size(), 0);
  for (const auto& [k, e] : logs_) ++counts[e.dir_index];
  // Offline dirs take no new logs.
  for (size_t i = 0; i < counts.size(); ++i)
    if (!dir_online(i)) counts[i] = SIZE_MAX;
  size_t dir_index = static_cast<size_t>(
      std::min_element(counts.begin(), counts.end()) - counts.begin());
  if (counts.empty() || counts[dir_index] == SIZE_MAX)
    return log_error(LogErrc::kStorageError, "every log dir is offline");
  LogOpenOptions o;
  o.dir = config_.log_dirs[dir_index] + "/" + tp.dir_name();
  o.tp = tp;
  o.topic_id = topic_id;
  o.config = config;
  o.clock = clock_;
  o.background = config_.background;
  o.clean_shutdown = true;  // a new directory has nothing to recover
  o.on_io_error = io_error_handler(dir_index);
  auto log = Log::open(o);
  if (!log) {
    if (log.error().code == LogErrc::kStorageError) {
      lock.unlock();
      mark_dir_offline(dir_index, "creating " + o.dir + " failed: " + log.error().message);
    }
    return log.error();
  }
  logs_[tp] = Entry{log.value(), dir_index};
  manager_logger()->info("Created log for {} in {}", tp.dir_name(), o.dir);
  return log.value();
}

std::shared_ptr<Log> LogManager::get(const std::string& topic, int32_t partition) const {
  std::shared_lock lock(mu_);
  auto it = logs_.find(TopicPartition{topic, partition});
  return it == logs_.end() ? nullptr : it->second.log;
}

bool LogManager::remove(const std::string& topic, int32_t partition) {
  Entry entry;
  {
    std::unique_lock lock(mu_);
    auto it = logs_.find(TopicPartition{topic, partition});
    if (it == logs_.end()) return false;
    entry = it->second;
    logs_.erase(it);
  }
  if (cleaner_) cleaner_->remove(entry.log);
  entry.log->mark_deleted();
  const std::string& dir = config_.log_dirs[entry.dir_index];
  const std::string doomed =
      dir + "/" + entry.log->topic_partition().dir_name() + "." + random_hex() + "-delete";
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

void LogManager::flush_check() {
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
