#pragma once
// Builds this node's metadata image from the committed metadata log, as
// Kafka's MetadataLoader does: a snapshot replaces the image, each committed
// batch becomes a MetadataDelta applied on top, and every new image is
// published to the MetadataCache and to the installed publishers (dynamic
// configs, partitions, groups). It also snapshots the image through
// MetadataRaft::create_snapshot every `max_bytes_between_snapshots` of
// committed records (metadata.log.max.record.bytes.between.snapshots) and
// on request (clean stop).
//
// It knows the Raft leader and when this node is the active controller: from
// handle_leader_change naming this node, which MetadataRaft delivers only
// after every batch committed in earlier epochs, so the controller decides on
// the complete committed state.
//
// Threading: the raft::MetadataListener calls come from the MetadataRaft's
// listener thread, one at a time; publishers run there too and must not call
// back into ControllerService::commit. Everything else is thread-safe.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "samsa/broker/metadata_image.h"
#include "samsa/raft/metadata_raft.h"

namespace samsa::broker::metadata {

struct MetadataLoaderOptions {
  int32_t node_id = -1;
  // metadata.log.max.record.bytes.between.snapshots (Kafka's default 20 MiB).
  int64_t max_bytes_between_snapshots = 20 * 1024 * 1024;
};

class MetadataLoader : public raft::MetadataListener {
 public:
  using Publisher = std::function<void(const std::shared_ptr<const MetadataImage>&)>;
  using Clock = std::chrono::steady_clock;
  enum class WaitResult { kApplied, kLeadershipLost, kTimedOut };

  // `base` holds what the log does not (cluster id, static voters); every
  // snapshot load starts again from it.
  MetadataLoader(MetadataCache& cache, std::shared_ptr<const MetadataImage> base, MetadataLoaderOptions options);

  // Where snapshots are written; set before the quorum starts (null: never).
  void set_snapshot_target(raft::MetadataRaft* raft) { snapshot_target_ = raft; }
  // Calls `publisher` with the current image now, then with every new one,
  // on the listener thread (or the installing thread for the first call).
  void install_publisher(Publisher publisher);
  // Called on the listener thread when this node becomes the active
  // controller of an epoch (set before the quorum starts). Must not block.
  void set_on_activation(std::function<void(raft::Epoch)> hook) { on_activation_ = std::move(hook); }

  void handle_load_snapshot(raft::OffsetAndEpoch id, const std::vector<std::string>& records) override;
  void handle_commit(const raft::CommittedBatch& batch) override;
  void handle_leader_change(raft::LeaderAndEpoch leader) override;

  // Offset of the last applied record, control records included (-1: none).
  raft::Offset applied_offset() const;
  raft::LeaderAndEpoch leader() const;
  // The epoch this node leads as active controller, if it does.
  std::optional<raft::Epoch> active_epoch() const;

  // Waits until `offset` is applied. With `written_in` (the epoch a leader
  // appended it in), gives up with kLeadershipLost once a later epoch is
  // known: the batch may have been truncated and replaced.
  WaitResult wait_until_applied(raft::Offset offset, std::optional<raft::Epoch> written_in,
                                Clock::time_point deadline) const;
  // Waits until a leader (any node) is known; false at the deadline.
  bool wait_for_leader(Clock::time_point deadline) const;

  // Snapshots the current image if anything was applied since the last
  // snapshot (clean stop). Thread-safe; a no-op without a snapshot target.
  void snapshot_now();

 private:
  void publish(std::shared_ptr<const MetadataImage> image);
  void snapshot_locked();  // REQUIRES: apply_mu_ held

  MetadataCache& cache_;
  const std::shared_ptr<const MetadataImage> base_;
  const MetadataLoaderOptions options_;
  raft::MetadataRaft* snapshot_target_ = nullptr;
  std::function<void(raft::Epoch)> on_activation_;

  // Serializes image changes, publishing and snapshots.
  std::mutex apply_mu_;
  std::vector<Publisher> publishers_;
  raft::Epoch last_epoch_ = 0;          // epoch of the last applied record
  raft::Offset snapshot_end_ = 0;       // end offset of the newest snapshot taken or loaded
  int64_t bytes_since_snapshot_ = 0;

  // What waiters look at.
  mutable std::mutex state_mu_;
  mutable std::condition_variable state_cv_;
  raft::Offset applied_ = -1;
  raft::LeaderAndEpoch leader_;
};

}  // namespace samsa::broker::metadata
