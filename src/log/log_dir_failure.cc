// LogManager: log dir failures (Kafka's LogDirFailureChannel and
// ReplicaManager.handleLogDirFailure) and stray logs.
#include <algorithm>

#include "samsa/log/log_manager.h"
#include "samsa/util/env.h"
#include "samsa/util/logging.h"

namespace samsa::log {
namespace {

auto failure_logger() { return samsa::logger("samsa.log.LogDirFailureChannel"); }

}  // namespace

std::string LogManager::unique_suffix() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : protocol::Uuid::random().bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::function<void(const std::string&)> LogManager::io_error_handler(size_t dir_index) {
  return [this, dir_index](const std::string& why) { mark_dir_offline(dir_index, why); };
}

void LogManager::guard_dir(size_t dir_index, const char* what, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    mark_dir_offline(dir_index, std::string(what) + " failed: " + e.what());
  }
}

bool LogManager::dir_online(size_t dir_index) const {
  std::lock_guard lock(dirs_mu_);
  return dir_index >= dir_offline_.size() || !dir_offline_[dir_index];
}

std::vector<std::string> LogManager::offline_dirs() const {
  std::lock_guard lock(dirs_mu_);
  std::vector<std::string> out;
  for (size_t i = 0; i < dir_offline_.size(); ++i)
    if (dir_offline_[i]) out.push_back(config_.log_dirs[i]);
  return out;
}

void LogManager::mark_dir_offline(size_t dir_index, const std::string& reason) {
  bool all_offline;
  {
    std::lock_guard lock(dirs_mu_);
    if (dir_index >= dir_offline_.size()) dir_offline_.resize(config_.log_dirs.size(), false);
    if (dir_offline_[dir_index]) return;
    dir_offline_[dir_index] = true;
    all_offline = std::all_of(dir_offline_.begin(), dir_offline_.end(), [](bool b) { return b; });
  }
  const std::string& dir = config_.log_dirs[dir_index];
  failure_logger()->error("Error while writing to log dir {}: {}. Stopped serving the partitions in it", dir,
                          reason);
  // Lock-free on each Log: this may run under one of their append locks.
  size_t count = 0;
  for (const auto& [log, index] : snapshot()) {
    if (index != dir_index) continue;
    log->mark_offline();
    ++count;
  }
  failure_logger()->error("{} partitions in {} are offline (KAFKA_STORAGE_ERROR)", count, dir);
  if (config_.on_dir_offline) config_.on_dir_offline(dir, reason, all_offline);
}

bool LogManager::rename_stray(const std::string& topic, int32_t partition) {
  auto detached = detach(topic, partition);
  if (!detached) return false;
  const Entry entry = std::move(*detached);
  // Flushed and closed as at a shutdown, so the kept copy is consistent.
  try {
    entry.log->close();
  } catch (const std::exception& e) {
    failure_logger()->warn("Closing stray log {} failed: {}", entry.log->dir(), e.what());
  }
  entry.log->mark_deleted();
  const std::string& dir = config_.log_dirs[entry.dir_index];
  const std::string stray = dir + "/" + entry.log->topic_partition().dir_name() + "." + unique_suffix() + "-stray";
  try {
    rename_file(entry.log->dir(), stray);
    fsync_dir(dir);
  } catch (const std::exception& e) {
    mark_dir_offline(entry.dir_index, "renaming stray log " + entry.log->dir() + " failed: " + e.what());
    return false;
  }
  samsa::logger("samsa.log.LogManager")
      ->warn("Renamed the stray log {} to {}: the metadata has no such partition; it is kept for an operator",
             entry.log->dir(), stray);
  checkpoint();
  return true;
}

}  // namespace samsa::log
