#include "samsa/broker/partition_manager.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "samsa/broker/broker_config.h"
#include "samsa/util/logging.h"

namespace samsa::broker {

namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.server.ReplicaManager");
  return l;
}

// The broker-wide log.* settings as a topic's defaults.
log::LogConfig broker_log_config(const BrokerConfig& c) {
  log::LogConfig lc;
  lc.segment_bytes = c.log_segment_bytes;
  lc.segment_ms = c.log_roll_ms;
  lc.segment_index_bytes = c.log_index_size_max_bytes;
  lc.index_interval_bytes = c.log_index_interval_bytes;
  lc.retention_ms = c.log_retention_ms;
  lc.retention_bytes = c.log_retention_bytes;
  lc.flush_messages = c.log_flush_interval_messages;
  lc.flush_ms = c.log_flush_interval_ms;
  lc.max_message_bytes = c.message_max_bytes;
  lc.message_timestamp_type = c.log_message_timestamp_type == "LogAppendTime" ? protocol::TimestampType::kLogAppendTime
                                                                            : protocol::TimestampType::kCreateTime;
  lc.message_timestamp_before_max_ms = c.log_message_timestamp_before_max_ms;
  lc.message_timestamp_after_max_ms = c.log_message_timestamp_after_max_ms;
  lc.preallocate = c.log_preallocate;
  lc.cleanup_policy = fmt::format("{}", fmt::join(c.log_cleanup_policy, ","));
  lc.compression_type = c.compression_type;
  lc.producer_id_expiration_ms = c.producer_id_expiration_ms;
  lc.delete_retention_ms = c.log_cleaner_delete_retention_ms;
  lc.min_cleanable_dirty_ratio = c.log_cleaner_min_cleanable_ratio;
  lc.min_compaction_lag_ms = c.log_cleaner_min_compaction_lag_ms;
  lc.max_compaction_lag_ms = c.log_cleaner_max_compaction_lag_ms;
  return lc;
}

log::LogConfig topic_log_config(const BrokerConfig& c, const MetadataImage& image, const std::string& topic) {
  log::LogConfig lc = broker_log_config(c);
  if (const ConfigMap* overrides = image.config(ConfigResourceType::kTopic, topic)) {
    std::map<std::string, std::string> m(overrides->begin(), overrides->end());
    if (auto bad = lc.apply(m)) log()->warn("Ignoring invalid config {} of topic {}", *bad, topic);
  }
  return lc;
}

}  // namespace

PartitionManager::PartitionManager(const BrokerConfig& config, int32_t node_id) : config_(config), node_id_(node_id) {
  log::LogManagerConfig lm;
  lm.log_dirs = config.log_dirs;
  lm.num_recovery_threads_per_data_dir = config.num_recovery_threads_per_data_dir;
  lm.default_config = broker_log_config(config);
  lm.cleaner.enable = config.log_cleaner_enable && config.log_cleaner_threads > 0;
  lm.cleaner.backoff_ms = config.log_cleaner_backoff_ms;
  lm.cleaner.dedupe_buffer_size = config.log_cleaner_dedupe_buffer_size;
  logs_ = std::make_unique<log::LogManager>(std::move(lm));
}

PartitionManager::~PartitionManager() = default;

void PartitionManager::startup() { logs_->startup(); }

void PartitionManager::shutdown() { logs_->shutdown(); }

void PartitionManager::apply(const MetadataImage& image) {
  std::lock_guard lock(apply_mu_);
  auto current = hosted_.load();
  auto next = std::make_shared<Map>();
  // New partitions are created together (in parallel, log_manager.h): a
  // CreateTopics of thousands of partitions is not thousands of serial fsyncs.
  std::vector<log::LogManager::NewLog> to_create;
  std::vector<std::pair<Map::key_type, std::shared_ptr<HostedPartition>>> created_for;
  for (const auto& [name, topic] : image.topics->by_name) {
    std::optional<log::LogConfig> config;  // computed once per topic, when needed
    for (const auto& [index, p] : topic->partitions) {
      if (std::find(p.replicas.begin(), p.replicas.end(), node_id_) == p.replicas.end()) continue;
      auto key = std::make_pair(name, index);
      auto hosted = std::make_shared<HostedPartition>();
      hosted->topic_id = topic->id;
      hosted->leader_id = p.leader;
      hosted->leader_epoch = p.leader_epoch;
      hosted->isr_size = static_cast<int32_t>(p.isr.size());
      auto it = current->find(key);
      if (it != current->end() && it->second->topic_id == topic->id) {
        hosted->log = it->second->log;
        next->emplace(key, std::move(hosted));
      } else {
        if (!config) config = topic_log_config(config_, image, name);
        to_create.push_back({name, index, topic->id, *config});
        created_for.emplace_back(std::move(key), std::move(hosted));
      }
    }
  }
  if (!to_create.empty()) {
    auto created = logs_->get_or_create_all(to_create);
    for (size_t i = 0; i < created.size(); ++i) {
      auto& [key, hosted] = created_for[i];
      if (!created[i]) {
        log()->error("Cannot open the log of {}-{}: {}", key.first, key.second, created[i].error().message);
        continue;
      }
      hosted->log = std::move(created[i].value());
      next->emplace(std::move(key), std::move(hosted));
    }
  }
  // Topic config changes reach the open logs. The map is ordered by topic:
  // one config per topic, not per partition (100,000 partitions).
  const std::string* config_topic = nullptr;
  log::LogConfig wanted;
  for (auto& [key, hosted] : *next) {
    auto it = current->find(key);
    if (it == current->end()) continue;
    if (config_topic == nullptr || *config_topic != key.first) {
      wanted = topic_log_config(config_, image, key.first);
      config_topic = &key.first;
    }
    hosted->log->update_config(wanted);
  }
  for (const auto& [key, hosted] : *current) {
    if (next->count(key)) continue;
    log()->info("Deleting the log of {}-{}: the partition is gone from the metadata", key.first, key.second);
    logs_->remove(key.first, key.second);
  }
  // Logs found on disk at start-up whose topic no longer exists. Only the
  // first image can find any (later logs all come from here), and listing
  // 100,000 logs on every metadata change would cost a network thread.
  if (!strays_checked_) {
    strays_checked_ = true;
    for (const auto& tp : logs_->partitions()) {
      if (!next->count({tp.topic, tp.partition})) {
        log()->info("Deleting the stray log of {}-{}", tp.topic, tp.partition);
        logs_->remove(tp.topic, tp.partition);
      }
    }
  }
  hosted_.store(std::shared_ptr<const Map>(std::move(next)));
}

std::shared_ptr<const HostedPartition> PartitionManager::get(const std::string& topic, int32_t partition) const {
  auto map = hosted_.load();
  auto it = map->find({topic, partition});
  return it == map->end() ? nullptr : it->second;
}

}  // namespace samsa::broker
