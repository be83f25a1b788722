#include "samsa/raft/bootstrap_checkpoint.h"

#include <filesystem>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "samsa/protocol/gen/feature_level_record.h"
#include "samsa/raft/metadata_record_frame.h"
#include "samsa/raft/snapshot_file.h"

namespace samsa::raft {

void write_bootstrap_checkpoint(const std::string& dir, const BootstrapMetadata& metadata) {
  auto record = [](const std::string& name, int16_t level) {
    protocol::FeatureLevelRecord feature;
    feature.name = name;
    feature.feature_level = level;
    return frame_metadata_record(feature, 0);
  };
  std::vector<std::vector<uint8_t>> records;
  records.push_back(record("metadata.version", metadata.metadata_version));
  for (const auto& [name, level] : metadata.features)
    if (name != "metadata.version" && level > 0) records.push_back(record(name, level));
  write_snapshot_file((std::filesystem::path(dir) / kBootstrapCheckpointFile).string(), records, /*epoch=*/0);
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
        if (feature.name == "metadata.version")
          result.metadata_version = feature.feature_level;
        else if (feature.feature_level > 0)
          result.features[feature.name] = feature.feature_level;
        else
          result.features.erase(feature.name);
      }
    } catch (const protocol::DecodeError& e) {
      throw std::runtime_error(fmt::format("{} is corrupt: {}", path, e.what()));
    }
  });
  if (result.metadata_version == 0) throw std::runtime_error(fmt::format("{} holds no metadata.version", path));
  return result;
}

}  // namespace samsa::raft
