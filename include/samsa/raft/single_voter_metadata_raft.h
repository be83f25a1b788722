#pragma once
// MetadataRaft over the single-voter MetadataLog: opening the log elects
// this node, and a durable append is the commit. A stand-in that lets the
// controller and the metadata loader run over the MetadataRaft seam until
// RaftManager (a real quorum) replaces it.
//
// Threading: the listener runs on this object's own thread: start() loads
// the latest snapshot and replays the log there, then reports this node as
// leader, then delivers each append in order. Public calls are thread-safe.
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "samsa/raft/metadata_log.h"
#include "samsa/raft/metadata_raft.h"

namespace samsa::raft {

class SingleVoterMetadataRaft : public MetadataRaft {
 public:
  // Opens the log (MetadataLog::open: a new epoch, led by this node).
  explicit SingleVoterMetadataRaft(const MetadataLogOptions& options);
  ~SingleVoterMetadataRaft() override;

  void register_listener(MetadataListener* listener) override { listener_ = listener; }
  // Starts the listener thread.
  void start();
  // Delivers what is queued, stops the listener thread and closes the log.
  void close();

  NodeId node_id() const override { return node_id_; }
  LeaderAndEpoch leader() const override;
  Offset high_watermark() const override;
  std::variant<Offset, AppendError> append(Epoch epoch, std::vector<std::string> records) override;
  void create_snapshot(OffsetAndEpoch id, std::vector<std::string> records) override;

 private:
  void run();
  void load();  // on the listener thread: snapshot, log, then leadership

  const NodeId node_id_;
  MetadataListener* listener_ = nullptr;
  // Recursive: the listener may snapshot while load() replays under it.
  mutable std::recursive_mutex log_mu_;
  std::unique_ptr<MetadataLog> log_;
  Epoch epoch_ = 0;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<CommittedBatch> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace samsa::raft
