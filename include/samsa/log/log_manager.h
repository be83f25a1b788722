#pragma once
// Owns the log directories (log.dirs) and every partition log in them.
//
// Per log dir:
//   <topic>-<partition>/               one Log (log.h)
//   <topic>-<partition>.<hex>-delete/  a deleted partition being removed
//   <topic>-<partition>.<hex>-stray/   a log the metadata did not know: kept
//                                      for an operator, never loaded or deleted
//   recovery-point-offset-checkpoint   offsets checkpoint (checkpoint_file.h)
//   log-start-offset-checkpoint        same format; only logs whose start
//                                      offset is above their first segment
//   cleaner-offset-checkpoint          same format; first dirty offset of
//                                      each compacted log (log_cleaner.h)
//   .kafka_cleanshutdown               present only between a clean shutdown
//                                      and the next start: logs skip recovery
//   .lock                              flock'd while a broker uses the dir
//
// Threads: get() takes a shared lock on the partition map only; appends and
// reads then go to the Log, which has no global lock. Callers on the hot
// path should keep the shared_ptr<Log> they got.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "samsa/log/clock.h"
#include "samsa/log/log.h"
#include "samsa/log/log_cleaner.h"
#include "samsa/log/log_config.h"
#include "samsa/log/topic_partition.h"

namespace samsa::log {

inline constexpr const char* kCleanShutdownFile = ".kafka_cleanshutdown";

struct LogManagerConfig {
  std::vector<std::string> log_dirs;            // log.dirs
  int num_recovery_threads_per_data_dir = 2;    // num.recovery.threads.per.data.dir
  LogConfig default_config;
  // Config for logs found at startup (topic overrides); default_config if unset.
  std::function<LogConfig(const TopicPartition&)> config_for;
  CleanerConfig cleaner;  // log.cleaner.*
  // Handed to every log (LogOpenOptions::background): roll-time fsyncs.
  std::function<void(std::function<void()>)> background;
  std::function<void(int64_t delay_ms, std::function<void()>)> background_after;  // file.delete.delay.ms
  // Handed to every log (LogOpenOptions::flusher): durable-mode group
  // commits run there (a Flusher). Unset: appends flush inline.
  std::function<void(std::function<void()>)> flusher;
  // Called once per dir, from the thread that saw the failure, when a log dir
  // goes offline; `all_offline`: it was the last one online. Kafka halts the
  // broker when all log dirs have failed, or the metadata log's dir.
  std::function<void(const std::string& dir, const std::string& reason, bool all_offline)> on_dir_offline;
};

class LogManager {
 public:
  explicit LogManager(LogManagerConfig config, std::shared_ptr<Clock> clock = nullptr);
  ~LogManager();
  LogManager(const LogManager&) = delete;
  LogManager& operator=(const LogManager&) = delete;

  // Locks the dirs, loads every partition (recovering after an unclean
  // stop; num_recovery_threads_per_data_dir at a time), then removes the
  // clean-shutdown markers. Throws std::system_error if a directory cannot
  // be used, std::runtime_error naming the partition and the cause if a log
  // cannot be loaded (start-up stops rather than skip it).
  void startup();
  // Flushes and closes every log (num_recovery_threads_per_data_dir per dir
  // at a time), writes the checkpoints and the markers.
  void shutdown();

  // New logs go to the dir holding the fewest partitions.
  LogResult<std::shared_ptr<Log>> get_or_create(const std::string& topic, int32_t partition,
                                                const protocol::Uuid& topic_id,
                                                const LogConfig& config);
  // Many logs at once (CreateTopics with thousands of partitions): the new
  // ones are opened in parallel, outside the partition map's lock, so their
  // directory and file creation (and fsyncs) overlap. Results are in order.
  struct NewLog {
    std::string topic;
    int32_t partition = 0;
    protocol::Uuid topic_id;
    LogConfig config;
  };
  std::vector<LogResult<std::shared_ptr<Log>>> get_or_create_all(const std::vector<NewLog>& logs);
  std::shared_ptr<Log> get(const std::string& topic, int32_t partition) const;
  // Renames the dir to "<topic>-<partition>.<32 hex>-delete", then removes it.
  bool remove(const std::string& topic, int32_t partition);
  std::vector<TopicPartition> partitions() const;
  // A log on disk that the metadata does not know (Kafka 3.7+ "stray" logs):
  // renamed "<topic>-<partition>.<32 hex>-stray" and dropped from the
  // manager, never deleted, so a lost or stale metadata log cannot destroy
  // data. False if there is no such log or the rename failed.
  bool rename_stray(const std::string& topic, int32_t partition);

  // --- log dir failures (log_dir_failure.cc) ---
  // A write, fsync or checkpoint in the dir failed: every log in it goes
  // offline (KAFKA_STORAGE_ERROR to produce and fetch), nothing more is
  // written there (no checkpoints, no clean-shutdown marker, no new logs).
  void mark_dir_offline(size_t dir_index, const std::string& reason);
  bool dir_online(size_t dir_index) const;
  std::vector<std::string> offline_dirs() const;

  // DeleteRecords, then the log start offsets are checkpointed.
  LogResult<int64_t> delete_records(const std::string& topic, int32_t partition, int64_t offset);
  // Retention over all logs; returns the segments deleted.
  size_t retention_check();
  // flush.ms and flushes of rolled segments over all logs; makes the
  // partition.metadata files of logs created since the last call durable.
  void flush_check();
  // fsyncs the partition.metadata files (and their directories) of up to
  // `max` logs get_or_create_all created and not synced yet.
  void sync_new_logs(size_t max);
  // producer.id.expiration.ms over all logs; returns the producers dropped.
  size_t remove_expired_producers();
  // Writes recovery-point and log-start-offset checkpoints of every dir.
  void checkpoint();
  // Writes replication-offset-checkpoint (every log's high watermark) in
  // every dir; startup() gives each log its checkpointed value (0 if none).
  void checkpoint_high_watermarks();
  // The compaction thread's owner; null before startup().
  LogCleaner* cleaner() { return cleaner_.get(); }

 private:
  // 32 hex digits naming a dir being deleted ("-delete") or kept as stray.
  static std::string unique_suffix();
  struct Entry {
    std::shared_ptr<Log> log;
    size_t dir_index;
  };
  // Takes the log out of the manager and the cleaner (remove, rename_stray);
  // nullopt if it is not hosted.
  std::optional<Entry> detach(const std::string& topic, int32_t partition);
  void load_dir(size_t dir_index);
  // The dir holding the fewest partitions; counts it. Caller holds mu_.
  size_t pick_dir_locked();
  LogOpenOptions new_log_options(const NewLog& n, size_t dir_index);
  // Reports a Log's I/O error to mark_dir_offline.
  std::function<void(const std::string&)> io_error_handler(size_t dir_index);
  // Runs `fn`, taking `dir_index` offline if it throws.
  void guard_dir(size_t dir_index, const char* what, const std::function<void()>& fn);
  std::vector<std::pair<std::shared_ptr<Log>, size_t>> snapshot() const;

  LogManagerConfig config_;
  std::shared_ptr<Clock> clock_;
  std::vector<int> lock_fds_;
  mutable std::shared_mutex mu_;
  std::unordered_map<TopicPartition, Entry, TopicPartitionHash> logs_;
  std::vector<size_t> dir_counts_;  // under mu_: entries of logs_ per dir
  std::mutex unsynced_mu_;
  std::vector<std::string> unsynced_dirs_;  // new logs whose metadata is not fsynced yet
  std::mutex checkpoint_mu_;
  std::unique_ptr<LogCleaner> cleaner_;
  bool started_ = false;
  mutable std::mutex dirs_mu_;
  std::vector<bool> dir_offline_;  // by dir index, under dirs_mu_
};

}  // namespace samsa::log
