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
    auto report = broker::format_storage(*config, options.cluster_id, options.ignore_formatted);
    for (const auto& dir : report.skipped) fmt::print("Skipping {}: already formatted\n", dir);
    for (const auto& dir : report.formatted) fmt::print("Formatted {} for cluster {}\n", dir, options.cluster_id);
    if (report.formatted.empty()) fmt::print("All of the log directories are already formatted.\n");
    return 0;
  } catch (const broker::StorageError& e) {
    fmt::print(stderr, "samsa: {}\n", e.what());
    return 1;
  }
}

}  // namespace samsa::cli
