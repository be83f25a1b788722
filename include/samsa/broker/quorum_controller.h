#pragma once
// ControllerService over the Raft quorum (raft::MetadataRaft), Kafka's
// QuorumController reduced to what Samsa's controller decides: while this
// node is the active controller (its MetadataLoader saw it become leader of
// an epoch), commit() decides on the loader's image, appends the records as
// one batch in that epoch, and waits until the loader applied it. Nothing is
// applied before the quorum commits it, so losing leadership leaves no
// uncommitted state to revert: the waiting write fails with kNotController.
//
// An empty log gets the bootstrap records (the finalized features) from the first
// active controller, before any other write.
//
// Threading: commit() is thread-safe and blocking (writes are serial, one at
// a time); never call it on the metadata listener thread.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "samsa/broker/controller_service.h"
#include "samsa/broker/metadata/metadata_loader.h"
#include "samsa/raft/metadata_raft.h"

namespace samsa::broker {

struct QuorumControllerOptions {
  int16_t bootstrap_metadata_version = 0;  // from bootstrap.checkpoint
  std::map<std::string, int16_t> bootstrap_features;  // the other features there (level > 0)
  // How long a write may wait to commit before kTimedOut.
  std::chrono::milliseconds commit_timeout{30'000};
};

class QuorumController : public ControllerService {
 public:
  QuorumController(raft::MetadataRaft& raft, metadata::MetadataLoader& loader, MetadataCache& cache,
                   metadata::ControllerDefaults defaults, QuorumControllerOptions options);

  CommitResult commit(const Decide& decide) override;
  const metadata::ControllerDefaults& defaults() const override { return defaults_; }
  metadata::ReplicaPlacer& placer() override { return placer_; }

  // True while this node is the active controller.
  bool active() const override { return loader_.active_epoch().has_value(); }
  // Writes the bootstrap records if the log has none yet (a no-op otherwise).
  CommitResult ensure_bootstrapped();
  // The offset the next write will most likely get (writes are serial and
  // each waits for its commit); used as a registering broker's epoch.
  int64_t next_offset() const { return loader_.applied_offset() + 1; }

 private:
  CommitResult write(raft::Epoch epoch, const std::vector<metadata::RecordAndVersion>& records);

  raft::MetadataRaft& raft_;
  metadata::MetadataLoader& loader_;
  MetadataCache& cache_;
  metadata::ControllerDefaults defaults_;
  const QuorumControllerOptions options_;
  metadata::ReplicaPlacer placer_;
  std::mutex mu_;
};

}  // namespace samsa::broker
