#include <unistd.h>

#include <csignal>
#include <cstdio>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.h"
#include "config_loader.h"
#include "samsa/broker/broker.h"
#include "samsa/broker/storage.h"
#include "samsa/util/logging.h"
#include "samsa/version.h"

namespace samsa::cli {

namespace {

std::string join_listeners(const std::vector<broker::Listener>& listeners) {
  std::vector<std::string> parts;
  for (const auto& l : listeners) parts.push_back(fmt::format("{}://{}:{}", l.name, l.host, l.port));
  return fmt::format("{}", fmt::join(parts, ","));
}

}  // namespace

int run_server(const ServerOptions& options) {
  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto config = load_config(options.config_file, options.overrides);
  if (!config) return 1;
  if (!config->log_level.empty() && !samsa::set_log_level(config->log_level))
    fmt::print(stderr, "samsa: unknown log level '{}', using info\n", config->log_level);
  auto log = samsa::logger("samsa.Samsa");

  std::vector<std::string> roles;
  if (config->is_broker()) roles.push_back("broker");
  if (config->is_controller()) roles.push_back("controller");
  log->info("Samsa {} starting: node.id={}, process.roles={}, listeners={}, advertised.listeners={}, log.dirs={}",
            SAMSA_VERSION, config->node_id, fmt::join(roles, ","), join_listeners(config->listeners),
            join_listeners(config->advertised_listeners), fmt::join(config->log_dirs, ","));
  for (const auto& key : config->ignored_keys()) log->warn("Ignoring configuration {}: not used by Samsa", key);
  for (const auto& key : config->unsupported_keys())
    log->warn("Configuration {} is not supported by Samsa: its value is checked but has no effect", key);

  broker::StorageState storage;
  try {
    storage = broker::verify_storage(*config);
  } catch (const broker::StorageError& e) {
    log->error("Cannot start: {}", e.what());
    return 1;
  }
  log->info("Cluster {} at metadata.version level {}", storage.cluster_id, storage.metadata_version);

  broker::Broker node(std::move(*config), storage.cluster_id, storage.metadata_version);
  // Storage failure: wake the sigwait below (kill is async-signal-safe and
  // never blocks the I/O thread that saw the failure).
  node.set_bootstrap_features(storage.features);
  node.set_fatal_handler([](const std::string&) { ::kill(::getpid(), SIGTERM); });
  try {
    node.start();
  } catch (const std::exception& e) {
    log->error("Cannot start: {}", e.what());
    return 1;
  }
  log->info("Samsa server started");

  int sig = 0;
  sigwait(&stop_signals, &sig);
  if (node.failed()) {
    log->error("Stopping: the node's storage failed (see above)");
    node.stop();
    return 1;
  }
  log->info("Received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  node.stop();
  return 0;
}

}  // namespace samsa::cli
