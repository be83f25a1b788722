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
#include <unordered_map>

#include "samsa/broker/effective_log_config.h"
#include "samsa/broker/metadata_image.h"
#include "samsa/log/log.h"
#include "samsa/log/log_manager.h"
#include "samsa/util/serial_executor.h"

namespace samsa::broker {

struct BrokerConfig;

struct HostedPartition {
  std::shared_ptr<log::Log> log;
  protocol::Uuid topic_id;
  int32_t leader_id = -1;
  int32_t leader_epoch = 0;
  int32_t isr_size = 0;
  int32_t min_insync_replicas = 1;  // the topic's effective min.insync.replicas
};

class ReplicaManager {
 public:
  // `on_dir_offline`: see LogManagerConfig::on_dir_offline.
  ReplicaManager(const BrokerConfig& config, int32_t node_id,
                   std::function<void(const std::string&, const std::string&, bool)> on_dir_offline = {});
  ~ReplicaManager();

  void startup();   // loads existing logs (recovering after an unclean stop)
  void shutdown();  // flushes, closes, writes the clean-shutdown markers

  // Brings hosted partitions in line with `image`: creates logs for new
  // partitions of this node and removes the logs of deleted topics. Every log
  // gets its topic's effective config (effective_log_config.h) from this
  // image: a change of a topic's overrides or of the broker's dynamic log
  // defaults (BROKER "<node id>" or "") reaches the open logs here, without a
  // restart. Called after every published image.
  void apply(const MetadataImage& image);

  // nullptr if this broker does not host the partition.
  std::shared_ptr<const HostedPartition> get(const std::string& topic, int32_t partition) const;

  log::LogManager& logs() { return *logs_; }

 private:
  using Map = std::map<std::pair<std::string, int32_t>, std::shared_ptr<const HostedPartition>>;

  const BrokerConfig& config_;
  int32_t node_id_;
  // Roll-time fsyncs of every log (Kafka's scheduler does them); declared
  // before logs_ so it outlives them and finishes what they posted.
  std::unique_ptr<util::SerialExecutor> log_background_;
  std::unique_ptr<log::LogManager> logs_;
  std::mutex apply_mu_;  // apply() calls are serialised; readers never take it
  bool strays_checked_ = false;  // under apply_mu_
  // Guarded by apply_mu_: what the logs were last configured from, so an
  // image that changes neither a topic's overrides nor the broker layers
  // costs no config derivation.
  struct TopicConfigState {
    ConfigMap overrides;
    EffectiveTopicConfig effective;
  };
  std::optional<BrokerConfigLayers> applied_layers_;
  std::unordered_map<std::string, TopicConfigState> applied_topics_;
  std::atomic<std::shared_ptr<const Map>> hosted_{std::make_shared<const Map>()};
};

}  // namespace samsa::broker
