#pragma once
// The partitions this broker hosts: one log per partition of the metadata
// image that has this node as a replica. Follows the image: logs are created
// for new partitions and removed with deleted topics. Lookups are lock-free
// (an immutable map swapped on change), so produce and fetch never contend
// on a global lock.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "samsa/broker/metadata_image.h"
#include "samsa/log/log.h"
#include "samsa/log/log_manager.h"

namespace samsa::broker {

struct BrokerConfig;

struct HostedPartition {
  std::shared_ptr<log::Log> log;
  protocol::Uuid topic_id;
  int32_t leader_id = -1;
  int32_t leader_epoch = 0;
  int32_t isr_size = 0;
};

class PartitionManager {
 public:
  PartitionManager(const BrokerConfig& config, int32_t node_id);
  ~PartitionManager();

  void startup();   // loads existing logs (recovering after an unclean stop)
  void shutdown();  // flushes, closes, writes the clean-shutdown markers

  // Brings hosted partitions in line with `image`: creates logs for new
  // partitions of this node (with the topic's effective config) and removes
  // the logs of deleted topics. Called after every published image.
  void apply(const MetadataImage& image);

  // nullptr if this broker does not host the partition.
  std::shared_ptr<const HostedPartition> get(const std::string& topic, int32_t partition) const;

  log::LogManager& logs() { return *logs_; }

 private:
  using Map = std::map<std::pair<std::string, int32_t>, std::shared_ptr<const HostedPartition>>;

  const BrokerConfig& config_;
  int32_t node_id_;
  std::unique_ptr<log::LogManager> logs_;
  std::mutex apply_mu_;  // apply() calls are serialised; readers never take it
  bool strays_checked_ = false;  // under apply_mu_
  std::atomic<std::shared_ptr<const Map>> hosted_{std::make_shared<const Map>()};
};

}  // namespace samsa::broker
