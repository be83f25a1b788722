#pragma once
// bootstrap.checkpoint: the metadata a new cluster starts from, written by
// `storage format` into the metadata log directory. Its layout is a KRaft
// snapshot: a control batch holding a SnapshotHeaderRecord, a batch of
// metadata records (one FeatureLevelRecord per finalized feature,
// metadata.version first), and a control batch holding a
// SnapshotFooterRecord. Kafka's BootstrapMetadata reads the same file.
#include <cstdint>
#include <map>
#include <string>

namespace samsa::raft {

struct BootstrapMetadata {
  int16_t metadata_version = 0;
  // Every other finalized feature (transaction.version, ...) at a level > 0.
  // A feature missing here, as in a checkpoint written before the feature
  // existed, is at level 0: not finalized.
  std::map<std::string, int16_t> features;
};

constexpr const char* kBootstrapCheckpointFile = "bootstrap.checkpoint";

void write_bootstrap_checkpoint(const std::string& dir, const BootstrapMetadata& metadata);
// Throws std::runtime_error if the file is missing or not a valid checkpoint.
BootstrapMetadata read_bootstrap_checkpoint(const std::string& dir);

}  // namespace samsa::raft
