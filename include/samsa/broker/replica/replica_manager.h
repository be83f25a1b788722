#pragma once
// The partitions this broker hosts (Kafka's ReplicaManager): one
// replica::Partition, with its log, per partition of the metadata image that
// has this node as a replica. Follows the image: logs are created for new
// partitions and removed with deleted topics; each Partition lives across
// images and takes its leader, epochs and ISR from every one; partitions
// this node starts (or stops) following are handed to the replica fetchers.
// Lookups are lock-free (an immutable map swapped on change), so produce and
// fetch never contend on a global lock.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>

#include "samsa/broker/effective_log_config.h"
#include "samsa/broker/metadata_image.h"
#include "samsa/broker/replica/partition.h"
#include "samsa/broker/replica/replica_fetcher_manager.h"
#include "samsa/log/flusher.h"
#include "samsa/log/log.h"
#include "samsa/log/log_manager.h"
#include "samsa/util/serial_executor.h"

namespace samsa::broker {

struct BrokerConfig;
class FetchWaiters;
class Scheduler;
namespace replica {
class AlterPartitionSender;
}

// What the ReplicaManager reaches outside itself; every member optional.
// Set once with wire(), before the first apply().
struct ReplicaManagerWiring {
  // A partition's high watermark or (leader) log end moved: wakes parked
  // fetches and acks=all produces (FetchWaiters::notify).
  std::function<void(const std::string& topic, int32_t partition)> on_progress;
  // Where acks=all appends of append_records() wait; both needed to wait.
  FetchWaiters* waiters = nullptr;
  Scheduler* scheduler = nullptr;
  // The replica fetchers (ReplicaFetcherManager::add_partitions /
  // remove_partitions); unset: nothing is followed.
  std::function<void(const std::vector<replica::FollowTarget>&)> add_followers;
  std::function<void(const std::vector<std::pair<std::string, int32_t>>&)> remove_followers;
  // AlterPartition to the controller; null: the ISR never changes here.
  replica::AlterPartitionSender* alter_partition = nullptr;
  // Milliseconds, monotonic (tests); unset: steady clock.
  std::function<int64_t()> now_ms;
};

class ReplicaManager {
 public:
  // `on_dir_offline`: see LogManagerConfig::on_dir_offline.
  ReplicaManager(const BrokerConfig& config, int32_t node_id,
                   std::function<void(const std::string&, const std::string&, bool)> on_dir_offline = {});
  ~ReplicaManager();

  void wire(ReplicaManagerWiring wiring);

  void startup();   // loads existing logs (recovering after an unclean stop)
  // Flushes, closes, writes the high watermark checkpoints and the
  // clean-shutdown markers.
  void shutdown();

  // On `scheduler`, until it stops: ISR expiration every
  // replica.lag.time.max.ms / 2 (Kafka's "isr-expiration") and
  // replication-offset-checkpoint every
  // replica.high.watermark.checkpoint.interval.ms.
  void schedule_periodic_tasks(Scheduler& scheduler);
  // One ISR expiration pass over the partitions this broker leads.
  void maybe_shrink_isr();

  // Brings hosted partitions in line with `image`: creates logs for new
  // partitions of this node and removes the logs of deleted topics. Every log
  // gets its topic's effective config (effective_log_config.h) from this
  // image: a change of a topic's overrides or of the broker's dynamic log
  // defaults (BROKER "<node id>" or "") reaches the open logs here, without a
  // restart. Called after every published image.
  void apply(const MetadataImage& image);

  // nullptr if this broker does not host the partition.
  std::shared_ptr<replica::Partition> get(const std::string& topic, int32_t partition) const;

  // Every hosted partition (a snapshot).
  std::vector<std::shared_ptr<replica::Partition>> partitions() const;

  // Appends for a coordinator (Kafka's ReplicaManager.appendRecords with
  // internal origin): as Produce does, including the wait for the ISR when
  // required_acks is -1 (until timeout_ms: REQUEST_TIMED_OUT). `done` runs
  // once, on any thread (possibly this one, before the call returns).
  void append_records(const std::string& topic, int32_t partition, std::vector<uint8_t> batch,
                      int16_t required_acks, log::AppendOrigin origin, int64_t timeout_ms,
                      std::function<void(replica::PartitionResult<log::AppendInfo>)> done);
  // The same with a KIP-890 verification guard (Partition::append_as_leader):
  // a transactional coordinator write (TxnOffsetCommit) that would open its
  // producer's transaction needs the guard its verification started.
  void append_records(const std::string& topic, int32_t partition, std::vector<uint8_t> batch,
                      int16_t required_acks, log::AppendOrigin origin, int64_t timeout_ms,
                      std::function<void(replica::PartitionResult<log::AppendInfo>)> done,
                      std::optional<uint64_t> verification_guard);

  log::LogManager& logs() { return *logs_; }

 private:
  using Map = std::map<std::pair<std::string, int32_t>, std::shared_ptr<replica::Partition>>;

  std::shared_ptr<replica::Partition> make_partition(const std::string& topic, int32_t index,
                                                     const protocol::Uuid& topic_id, std::shared_ptr<log::Log> log);

  const BrokerConfig& config_;
  int32_t node_id_;
  // Roll-time fsyncs of every log (Kafka's scheduler does them); declared
  // before logs_ so it outlives them and finishes what they posted.
  std::unique_ptr<util::SerialExecutor> log_background_;
  // Durable-mode group commits of every log (log/flusher.h); outlives logs_.
  std::unique_ptr<log::Flusher> flusher_;
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
  // The topics and broker registrations apply() last saw (under apply_mu_).
  std::shared_ptr<const TopicsImage> applied_topics_image_;
  std::vector<std::tuple<int32_t, int64_t, bool, bool>> applied_brokers_;
  ReplicaManagerWiring wiring_;  // set before the first apply(), read-only after
  std::atomic<std::shared_ptr<const Map>> hosted_{std::make_shared<const Map>()};
};

}  // namespace samsa::broker
