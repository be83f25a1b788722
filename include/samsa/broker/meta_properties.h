#pragma once
// meta.properties, the file `storage format` writes into every log directory
// (Kafka's KRaft layout, version=1):
//   version=1, cluster.id=<uuid>, node.id=<id>, directory.id=<uuid>
// The broker refuses to start on a directory without one, or on directories
// that disagree about the cluster.
#include <cstdint>
#include <optional>
#include <string>

#include "samsa/protocol/uuid.h"

namespace samsa::broker {

struct MetaProperties {
  int version = 1;
  std::string cluster_id;
  int32_t node_id = -1;
  std::optional<protocol::Uuid> directory_id;

  static constexpr const char* kFileName = "meta.properties";

  // nullopt if the file does not exist; ConfigError if it exists but is not
  // a valid KRaft meta.properties.
  static std::optional<MetaProperties> read(const std::string& dir);
  // Writes atomically (temp file, fsync, rename).
  void write(const std::string& dir) const;
};

}  // namespace samsa::broker
