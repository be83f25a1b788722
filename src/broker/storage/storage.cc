#include "samsa/broker/storage.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "samsa/broker/features.h"
#include "samsa/broker/meta_properties.h"
#include "samsa/raft/bootstrap_checkpoint.h"

namespace samsa::broker {

namespace fs = std::filesystem;

std::vector<std::string> storage_directories(const BrokerConfig& config) {
  std::vector<std::string> dirs = config.log_dirs;
  if (!config.metadata_log_dir.empty() &&
      std::find(dirs.begin(), dirs.end(), config.metadata_log_dir) == dirs.end())
    dirs.push_back(config.metadata_log_dir);
  return dirs;
}

FormatReport format_storage(const BrokerConfig& config, const std::string& cluster_id, bool ignore_formatted) {
  auto parsed = protocol::Uuid::from_string(cluster_id);
  if (!parsed || parsed->is_zero())
    throw StorageError(fmt::format("Cluster ID string {} does not appear to be a valid UUID (22 characters of "
                                   "URL-safe base64; `samsa storage random-uuid` makes one)",
                                   cluster_id));
  FormatReport report;
  std::vector<std::string> todo;
  for (const auto& dir : storage_directories(config)) {
    std::optional<MetaProperties> existing;
    try {
      existing = MetaProperties::read(dir);
    } catch (const std::exception& e) {
      throw StorageError(e.what());
    }
    if (existing) {
      if (!ignore_formatted)
        throw StorageError(fmt::format("Log directory {} is already formatted. Use --ignore-formatted to ignore "
                                       "this directory and format the others.",
                                       dir));
      report.skipped.push_back(dir);
    } else {
      todo.push_back(dir);
    }
  }
  // Kafka: with --ignore-formatted, finding nothing to do is fine.
  if (todo.empty() && !ignore_formatted) throw StorageError("All of the log directories are already formatted.");
  for (const auto& dir : todo) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw StorageError(fmt::format("Cannot create log directory {}: {}", dir, ec.message()));
    try {
      if (dir == config.metadata_log_dir)
        raft::write_bootstrap_checkpoint(dir, raft::BootstrapMetadata{kLatestMetadataVersion});
      MetaProperties meta;
      meta.cluster_id = cluster_id;
      meta.node_id = config.node_id;
      meta.directory_id = protocol::Uuid::random();
      meta.write(dir);  // last: its presence means "formatted"
    } catch (const std::exception& e) {
      throw StorageError(fmt::format("Cannot format {}: {}", dir, e.what()));
    }
    report.formatted.push_back(dir);
  }
  return report;
}

StorageState verify_storage(const BrokerConfig& config) {
  StorageState state;
  std::string first_dir;
  for (const auto& dir : storage_directories(config)) {
    std::optional<MetaProperties> meta;
    try {
      meta = MetaProperties::read(dir);
    } catch (const std::exception& e) {
      throw StorageError(e.what());
    }
    if (!meta)
      throw StorageError(fmt::format("No meta.properties found in {}: format the storage first with "
                                     "`samsa storage format -t $(samsa storage random-uuid) -c <config>`",
                                     dir));
    if (meta->node_id != config.node_id)
      throw StorageError(fmt::format("{} was formatted for node.id {}, but the configuration has node.id {}", dir,
                                     meta->node_id, config.node_id));
    if (state.cluster_id.empty()) {
      state.cluster_id = meta->cluster_id;
      first_dir = dir;
    } else if (meta->cluster_id != state.cluster_id) {
      throw StorageError(fmt::format("Cluster id mismatch: {} belongs to cluster {} but {} belongs to cluster {}",
                                     first_dir, state.cluster_id, dir, meta->cluster_id));
    }
  }
  try {
    state.metadata_version = raft::read_bootstrap_checkpoint(config.metadata_log_dir).metadata_version;
  } catch (const std::exception& e) {
    throw StorageError(e.what());
  }
  return state;
}

}  // namespace samsa::broker
