#include "samsa/raft/bootstrap_checkpoint.h"

#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "samsa/protocol/gen/feature_level_record.h"
#include "samsa/raft/metadata_record_frame.h"
#include "samsa/raft/snapshot_file.h"

namespace samsa::raft {

void write_bootstrap_checkpoint(const std::string& dir, const BootstrapMetadata& metadata) {
  protocol::FeatureLevelRecord feature;
  feature.name = "metadata.version";
  feature.feature_level = metadata.metadata_version;
  write_snapshot_file((std::filesystem::path(dir) / kBootstrapCheckpointFile).string(),
                      {frame_metadata_record(feature, 0)}, /*epoch=*/0);
}

BootstrapMetadata read_bootstrap_checkpoint(const std::string& dir) {
  std::string path = (std::filesystem::path(dir) / kBootstrapCheckpointFile).string();
  BootstrapMetadata result;
  read_snapshot_file(path, [&](const protocol::BatchView& batch) {
    try {
      for (const auto& record : protocol::decode_records(batch)) {
        if (!record.value) continue;
        protocol::WireReader in(*record.value);
        auto h = read_metadata_record_header(in);
        if (h.type != protocol::FeatureLevelRecord::kApiKey) continue;
        protocol::FeatureLevelRecord feature;
        feature.decode(in, h.version);
        if (feature.name == "metadata.version") result.metadata_version = feature.feature_level;
      }
    } catch (const protocol::DecodeError& e) {
      throw std::runtime_error(fmt::format("{} is corrupt: {}", path, e.what()));
    }
  });
  if (result.metadata_version == 0) throw std::runtime_error(fmt::format("{} holds no metadata.version", path));
  return result;
}

}  // namespace samsa::raft
