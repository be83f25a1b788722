#pragma once
// bootstrap.checkpoint: the metadata a new cluster starts from, written by
// `storage format` into the metadata log directory. Its layout is a KRaft
// snapshot: a control batch holding a SnapshotHeaderRecord, a batch of
// metadata records (the finalized metadata.version), and a control batch
// holding a SnapshotFooterRecord.
#include <cstdint>
#include <string>

namespace samsa::raft {

struct BootstrapMetadata {
  int16_t metadata_version = 0;
};

constexpr const char* kBootstrapCheckpointFile = "bootstrap.checkpoint";

void write_bootstrap_checkpoint(const std::string& dir, const BootstrapMetadata& metadata);
// Throws std::runtime_error if the file is missing or not a valid checkpoint.
BootstrapMetadata read_bootstrap_checkpoint(const std::string& dir);

}  // namespace samsa::raft
