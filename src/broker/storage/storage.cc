#include "samsa/broker/storage.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "samsa/broker/features.h"
#include "samsa/broker/meta_properties.h"
#include "samsa/raft/bootstrap_checkpoint.h"
#include "samsa/raft/bootstrap_voters.h"

namespace samsa::broker {

namespace fs = std::filesystem;

std::vector<std::string> storage_directories(const BrokerConfig& config) {
  std::vector<std::string> dirs = config.log_dirs;
  if (!config.metadata_log_dir.empty() &&
      std::find(dirs.begin(), dirs.end(), config.metadata_log_dir) == dirs.end())
    dirs.push_back(config.metadata_log_dir);
  return dirs;
}

namespace {

// The bootstrap voter set the flags ask for, or nullopt (static quorum,
// --no-initial-controllers). Kafka's checks, in Kafka's words.
std::optional<raft::BootstrapVoters> initial_voters(const BrokerConfig& config, const FormatRequest& request) {
  const bool static_voters = !config.controller_quorum_voters.empty();
  const char* kStaticAndDynamic =
      "You cannot specify controller.quorum.voters and format the node with --initial-controllers or "
      "--standalone. If you want to use dynamic quorum, please remove controller.quorum.voters and specify "
      "controller.quorum.bootstrap.servers instead.";
  std::string listener_name =
      config.controller_listener_names.empty() ? "CONTROLLER" : config.controller_listener_names.front();
  raft::BootstrapVoters voters;
  switch (request.quorum) {
    case QuorumBootstrap::kStatic:
      if (config.is_controller() && !static_voters)
        throw StorageError(
            "Because controller.quorum.voters is not set on this controller, you must specify one of the "
            "following: --standalone, --initial-controllers, or --no-initial-controllers.");
      return std::nullopt;
    case QuorumBootstrap::kNoInitialControllers:
      return std::nullopt;
    case QuorumBootstrap::kStandalone: {
      if (!config.is_controller()) throw StorageError("You can only use --standalone on a controller.");
      if (static_voters) throw StorageError(kStaticAndDynamic);
      if (config.advertised_controller_listeners.empty()) throw StorageError("No controller listeners found.");
      const Listener& l = config.advertised_controller_listeners.front();
      raft::BootstrapVoter self;
      self.id = config.node_id;
      self.directory_id = protocol::Uuid::random();
      self.endpoints.push_back({l.name, l.host.empty() ? "localhost" : l.host, l.port});
      voters.voters.push_back(std::move(self));
      return voters;
    }
    case QuorumBootstrap::kInitialControllers:
      if (static_voters) throw StorageError(kStaticAndDynamic);
      try {
        voters.voters = raft::parse_initial_controllers(request.initial_controllers, listener_name);
      } catch (const std::invalid_argument& e) {
        throw StorageError(e.what());
      }
      return voters;
  }
  return std::nullopt;
}

}  // namespace

FormatReport format_storage(const BrokerConfig& config, const std::string& cluster_id, bool ignore_formatted) {
  FormatRequest request;
  request.cluster_id = cluster_id;
  request.ignore_formatted = ignore_formatted;
  return format_storage(config, request);
}

FormatReport format_storage(const BrokerConfig& config, const FormatRequest& request) {
  const std::string& cluster_id = request.cluster_id;
  auto parsed = protocol::Uuid::from_string(cluster_id);
  if (!parsed || parsed->is_zero())
    throw StorageError(fmt::format("Cluster ID string {} does not appear to be a valid UUID (22 characters of "
                                   "URL-safe base64; `samsa storage random-uuid` makes one)",
                                   cluster_id));
  auto voters = initial_voters(config, request);
  const raft::BootstrapMetadata bootstrap = bootstrap_metadata_for(request.features, request.release_version);
  FormatReport report;
  report.metadata_version = bootstrap.metadata_version;
  report.features = bootstrap.features;
  // Kafka: kraft.version 1 when the quorum is dynamic (any of the three flags
  // without static voters), else 0.
  report.kraft_version = (request.quorum != QuorumBootstrap::kStatic && config.controller_quorum_voters.empty()) ? 1 : 0;
  if (voters) voters->kraft_version = report.kraft_version;
  const raft::BootstrapVoter* self_voter = nullptr;
  if (voters)
    for (const auto& v : voters->voters)
      if (v.id == config.node_id) self_voter = &v;

  std::vector<std::string> todo;
  for (const auto& dir : storage_directories(config)) {
    std::optional<MetaProperties> existing;
    try {
      existing = MetaProperties::read(dir);
    } catch (const std::exception& e) {
      throw StorageError(e.what());
    }
    if (existing) {
      if (!request.ignore_formatted)
        throw StorageError(fmt::format("Log directory {} is already formatted. Use --ignore-formatted to ignore "
                                       "this directory and format the others.",
                                       dir));
      report.skipped.push_back(dir);
    } else {
      todo.push_back(dir);
    }
  }
  // Kafka: with --ignore-formatted, finding nothing to do is fine.
  if (todo.empty() && !request.ignore_formatted)
    throw StorageError("All of the log directories are already formatted.");
  for (const auto& dir : todo) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw StorageError(fmt::format("Cannot create log directory {}: {}", dir, ec.message()));
    const bool metadata_dir = dir == config.metadata_log_dir;
    MetaProperties meta;
    meta.cluster_id = cluster_id;
    meta.node_id = config.node_id;
    meta.directory_id = protocol::Uuid::random();
    std::string kind = "data directory";
    if (metadata_dir) {
      kind = !voters ? "metadata directory" : self_voter ? "dynamic metadata voter directory"
                                                         : "dynamic metadata directory";
      // The voter set names this directory by its id: keep them equal.
      if (self_voter) meta.directory_id = self_voter->directory_id;
    }
    try {
      if (metadata_dir) {
        raft::write_bootstrap_checkpoint(dir, bootstrap);
        if (voters) raft::write_bootstrap_voters(dir, *voters);
      }
      meta.write(dir);  // last: its presence means "formatted"
    } catch (const std::exception& e) {
      throw StorageError(fmt::format("Cannot format {}: {}", dir, e.what()));
    }
    report.formatted.push_back(dir);
    report.kinds.push_back(kind);
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
    auto bootstrap = raft::read_bootstrap_checkpoint(config.metadata_log_dir);
    state.metadata_version = bootstrap.metadata_version;
    state.features = std::move(bootstrap.features);
  } catch (const std::exception& e) {
    throw StorageError(e.what());
  }
  return state;
}

}  // namespace samsa::broker
