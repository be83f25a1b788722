#pragma once
// The `samsa` subcommands. Each returns the process exit code.
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace samsa::cli {

struct ServerOptions {
  std::string config_file;
  std::vector<std::string> overrides;
};

struct FormatOptions {
  std::string cluster_id;
  std::string config_file;
  std::vector<std::string> overrides;
  bool ignore_formatted = false;
  // KIP-853 quorum flags (at most one), as kafka-storage.sh format 4.x.
  bool standalone = false;
  bool has_initial_controllers = false;  // given, even if empty (an error then)
  std::string initial_controllers;
  bool no_initial_controllers = false;
  std::vector<std::string> features;  // --feature name=level, as kafka-storage.sh
  std::string release_version;        // --release-version
};

int run_server(const ServerOptions& options);
int run_storage_format(const FormatOptions& options);
int run_random_uuid();

}  // namespace samsa::cli
