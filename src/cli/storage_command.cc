#include <cstdio>

#include <fmt/format.h>

#include "commands.h"
#include "config_loader.h"
#include "samsa/broker/storage.h"
#include "samsa/protocol/uuid.h"

namespace samsa::cli {

int run_random_uuid() {
  fmt::print("{}\n", protocol::Uuid::random().to_string());
  return 0;
}

int run_storage_format(const FormatOptions& options) {
  auto config = load_config(options.config_file, options.overrides);
  if (!config) return 1;
  try {
    broker::FormatRequest request;
    request.cluster_id = options.cluster_id;
    request.ignore_formatted = options.ignore_formatted;
    if (options.standalone) {
      request.quorum = broker::QuorumBootstrap::kStandalone;
    } else if (options.has_initial_controllers) {
      request.quorum = broker::QuorumBootstrap::kInitialControllers;
      request.initial_controllers = options.initial_controllers;
    } else if (options.no_initial_controllers) {
      request.quorum = broker::QuorumBootstrap::kNoInitialControllers;
    }
    request.features = options.features;
    request.release_version = options.release_version;
    auto report = broker::format_storage(*config, request);
    std::string features;
    for (const auto& [name, level] : report.features) features += fmt::format(", {} {}", name, level);
    for (const auto& dir : report.skipped) fmt::print("Skipping {}: already formatted\n", dir);
    for (size_t i = 0; i < report.formatted.size(); ++i)
      fmt::print("Formatting {} {} with metadata.version level {} (kraft.version {}{}) for cluster {}.\n",
                 report.kinds[i], report.formatted[i], report.metadata_version, report.kraft_version, features,
                 options.cluster_id);
    if (report.formatted.empty()) fmt::print("All of the log directories are already formatted.\n");
    return 0;
  } catch (const broker::StorageError& e) {
    fmt::print(stderr, "samsa: {}\n", e.what());
    return 1;
  }
}

}  // namespace samsa::cli
