#pragma once
// What many broker unit tests start from: a fresh temporary log directory
// and the single-node KRaft configuration (broker + controller, node 1) that
// points at it.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/properties.h"

namespace samsa::broker::test_env {

// No environment overrides (BrokerConfig reads KAFKA_* variables otherwise).
inline std::optional<std::string> no_env(const char*) { return std::nullopt; }

// A new, empty directory under the system temp dir, unique per process and call.
inline std::filesystem::path fresh_dir(const std::string& prefix) {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// `extra` is appended as more server.properties lines.
inline BrokerConfig single_node_config(const std::string& log_dir, const std::string& extra = "") {
  return BrokerConfig::from_properties(
      Properties::parse("process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@localhost:9093\n"
                        "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER\n"
                        "log.dirs=" + log_dir + "\n" + extra,
                        "server.properties"),
      no_env);
}

}  // namespace samsa::broker::test_env
