#pragma once
// raft::ReplicatedLog on disk: `<metadata.log.dir>/__cluster_metadata-0`, a
// log::Log whose batches are the Raft entries (one Entry = one Kafka record
// batch stamped with the entry's epoch; a control entry is a control batch
// whose records have the key {version 0, control_type}), beside the
// snapshots `<offset:020>-<epoch:010>.checkpoint` (offset: the first offset
// not in the snapshot; epoch: the epoch of the last record in it) and the
// `quorum-state` file. All file access goes through util::Env.
//
// Durability: appends are not synced; flush() syncs and moves
// flushed_offset() (the log's recovery point) to the end. Opening recovers a
// torn tail, then syncs what survived, so everything on disk after open() is
// durable. A log that ends below the latest snapshot is reset to it.
//
// Threading: the ReplicatedLog methods and the snapshot methods are called
// only from the thread driving the RaftClient. read_batches() and
// read_snapshot() may also be called from other threads (the metadata
// listener thread reads committed batches while the Raft thread appends).
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "samsa/log/log.h"
#include "samsa/raft/consensus/raft_io.h"
#include "samsa/raft/metadata_raft.h"

namespace samsa::raft {

struct DiskLogOptions {
  std::string metadata_dir;  // metadata.log.dir; the log is <metadata_dir>/__cluster_metadata-0
  log::LogConfig config;     // metadata.log.segment.bytes etc.
  // A write or fsync failed (LogOpenOptions::on_io_error); the log is
  // offline from then on and the node must halt, as Kafka does.
  std::function<void(const std::string&)> on_io_error;
};

class DiskReplicatedLog final : public ReplicatedLog {
 public:
  static constexpr const char* kDirName = "__cluster_metadata-0";

  // Throws std::runtime_error if the log cannot be opened.
  explicit DiskReplicatedLog(DiskLogOptions options);
  ~DiskReplicatedLog() override;
  DiskReplicatedLog(const DiskReplicatedLog&) = delete;
  DiskReplicatedLog& operator=(const DiskReplicatedLog&) = delete;

  // The partition directory (quorum-state lives here too).
  const std::string& dir() const { return dir_; }

  // --- ReplicatedLog. Errors of the underlying log throw std::runtime_error.
  Offset end_offset() const override;
  Epoch last_fetched_epoch() const override;
  Offset flushed_offset() const override;
  Offset append_as_leader(std::vector<Entry> entries, Epoch epoch) override;
  void append_as_follower(std::vector<Entry> entries) override;
  void truncate_to(Offset offset) override;
  std::vector<Entry> read(Offset from, size_t max_entries) const override;
  OffsetAndEpoch end_offset_for_epoch(Epoch epoch) const override;
  void flush() override;

  // --- Snapshots (raft_io.h). The log starts at the latest snapshot when it
  // is opened, as if trimmed to it.
  Offset start_offset() const override;
  std::optional<OffsetAndEpoch> latest_snapshot() const override;
  std::optional<std::string> read_snapshot(OffsetAndEpoch id) const override;  // the whole .checkpoint file
  void store_snapshot(OffsetAndEpoch id, std::string content) override;       // durably
  // Drops whole segments below the latest snapshot and the older snapshots;
  // start_offset() moves up to the snapshot.
  void trim_to_snapshot() override;
  // Empties the log: it restarts at id.offset with last_fetched_epoch() ==
  // id.epoch. REQUIRES: the snapshot `id` was stored.
  void reset_to_snapshot(OffsetAndEpoch id) override;

  // Committed batches for the metadata listener: whole batches with base
  // offset >= from (a batch boundary) and last offset < end, in order, at
  // most about max_bytes (at least one batch). Thread-safe.
  std::vector<CommittedBatch> read_batches(Offset from, Offset end, size_t max_bytes) const;

  std::string snapshot_path(OffsetAndEpoch id) const;
  void close();

 private:
  void open_log(int64_t start_offset);
  std::shared_ptr<log::Log> log() const;
  // Raw batches from `from`, whole, below `end`.
  template <typename F>
  void for_each_batch(Offset from, Offset end, size_t max_bytes, F&& on_batch) const;
  void append_entries(std::vector<Entry>& entries, const Epoch* leader_epoch);
  void remove_log_files();

  const DiskLogOptions options_;
  const std::string dir_;
  mutable std::mutex mu_;  // log_ and snapshots_, for read_batches/read_snapshot from other threads
  // Shared by reads, exclusive while the log is closed and replaced (reset):
  // a read on another thread never runs on a closing log.
  mutable std::shared_mutex swap_mu_;
  std::shared_ptr<log::Log> log_;
  struct SnapshotOrder {
    bool operator()(const OffsetAndEpoch& a, const OffsetAndEpoch& b) const {
      return a.offset != b.offset ? a.offset < b.offset : a.epoch < b.epoch;
    }
  };
  std::set<OffsetAndEpoch, SnapshotOrder> snapshots_;
  // The epoch of the snapshot at start_offset() (0 when the log starts at 0):
  // the last fetched epoch of an empty log, and the answer of
  // end_offset_for_epoch for epochs no remaining entry answers.
  Epoch base_epoch_ = 0;
};

}  // namespace samsa::raft
