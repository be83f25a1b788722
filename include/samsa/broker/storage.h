#pragma once
// Formatting log directories (`samsa storage format`) and checking them at
// start-up, with Kafka's rules: every directory formatted, one cluster id,
// the configured node id.
#include <stdexcept>
#include <string>
#include <vector>

#include "samsa/broker/broker_config.h"

namespace samsa::broker {

class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// log.dirs plus metadata.log.dir, without duplicates, in that order.
std::vector<std::string> storage_directories(const BrokerConfig& config);

struct FormatReport {
  std::vector<std::string> formatted;  // directories written now
  std::vector<std::string> skipped;    // already formatted (--ignore-formatted)
};

// Throws StorageError if the cluster id is not a Kafka Uuid or if a directory
// is already formatted and !ignore_formatted.
FormatReport format_storage(const BrokerConfig& config, const std::string& cluster_id, bool ignore_formatted);

struct StorageState {
  std::string cluster_id;
  int16_t metadata_version = 0;  // from bootstrap.checkpoint
};

// Throws StorageError naming the directory and the command to run.
StorageState verify_storage(const BrokerConfig& config);

}  // namespace samsa::broker
