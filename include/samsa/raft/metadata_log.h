#pragma once
// The `__cluster_metadata` log of a single-voter KRaft quorum. Opening it is
// this node's election: the epoch in `quorum-state` goes up by one and the
// new leader writes a LeaderChange control batch, as Kafka's raft client
// does. Appends are durable (fsync) before they return: with one voter, the
// durable append is the commit, so the high watermark is the log end.
//
// Multi-voter replication (Vote, BeginQuorumEpoch, follower Fetch) extends
// this class in a later issue; the file formats are already Kafka's.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "samsa/log/log.h"
#include "samsa/protocol/record_batch.h"

namespace samsa::raft {

// A snapshot of the log up to (not including) end_offset, taken in `epoch`.
struct SnapshotId {
  int64_t end_offset = 0;
  int32_t epoch = 0;
};

struct MetadataLogOptions {
  std::string metadata_dir;  // metadata.log.dir
  int32_t node_id = -1;
  std::vector<int32_t> voters;
  log::LogConfig config;     // metadata.log.segment.bytes etc.
  // A write or fsync of the metadata log failed (LogOpenOptions::on_io_error):
  // nothing more is appended; Kafka halts the node then.
  std::function<void(const std::string&)> on_io_error;
};

class MetadataLog {
 public:
  static constexpr const char* kTopic = "__cluster_metadata";

  // Opens (recovering a torn tail) and takes leadership of a new epoch.
  // Throws std::runtime_error on I/O failure.
  static std::unique_ptr<MetadataLog> open(const MetadataLogOptions& options);
  ~MetadataLog();

  int32_t epoch() const { return epoch_; }
  int64_t end_offset() const { return log_->log_end_offset(); }
  bool empty_of_records() const { return !has_data_; }

  // Appends one batch holding `values` (framed metadata records), durably.
  // Returns the offset of the first record. Throws std::runtime_error.
  int64_t append(const std::vector<std::vector<uint8_t>>& values);

  // Every batch at or after `from_offset`, control batches included, in order.
  void replay(const std::function<void(const protocol::BatchView&)>& on_batch, int64_t from_offset = 0) const;

  // Snapshots live beside the log as <end offset:020>-<epoch:010>.checkpoint.
  std::optional<SnapshotId> latest_snapshot() const;
  std::string snapshot_path(const SnapshotId& id) const;
  // Writes the snapshot `id` (everything before id.end_offset; id.epoch is the
  // epoch of the last included record) from framed records that rebuild the
  // image, and removes older snapshots. Throws on I/O failure.
  void write_snapshot(const SnapshotId& id, const std::vector<std::vector<uint8_t>>& values);

  void close();

 private:
  MetadataLog() = default;
  void append_leader_change(const std::vector<int32_t>& voters, int32_t node_id);
  int64_t append_batch(std::vector<uint8_t> batch);

  std::string dir_;
  std::shared_ptr<log::Log> log_;
  int32_t epoch_ = 0;
  bool has_data_ = false;  // any non-control batch
};

}  // namespace samsa::raft
