#include "samsa/broker/effective_log_config.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "samsa/broker/broker_config.h"

namespace samsa::broker {
namespace {

// Topic keys the log layer acts on (log::LogConfig and Produce's
// min.insync.replicas check). Other topic keys (preallocate, tiered storage ...) are validated and stored only.
constexpr std::string_view kAppliedTopicKeys[] = {
    "cleanup.policy",
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.type",
    "compression.zstd.level",
    "delete.retention.ms",
    "file.delete.delay.ms",
    "flush.messages",
    "flush.ms",
    "index.interval.bytes",
    "max.compaction.lag.ms",
    "max.message.bytes",
    "message.timestamp.after.max.ms",
    "message.timestamp.before.max.ms",
    "message.timestamp.type",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.index.bytes",
    "segment.jitter.ms",
    "segment.ms",
};

bool applied_topic_key(std::string_view name) {
  return std::find(std::begin(kAppliedTopicKeys), std::end(kAppliedTopicKeys), name) != std::end(kAppliedTopicKeys);
}

}  // namespace

std::optional<std::string> effective_broker_value(const BrokerConfigLayers& broker, std::string_view key) {
  for (const ConfigMap* layer : {&broker.dynamic_broker, &broker.dynamic_default, &broker.static_broker})
    if (auto it = layer->find(std::string(key)); it != layer->end()) return it->second;
  const ConfigKey* def = find_config_key(key);
  if (def == nullptr) return std::nullopt;
  if (def->dynamic_default != nullptr) return def->dynamic_default();
  if (def->default_value == nullptr) return std::nullopt;
  return std::string(def->default_value);
}

bool applied_by_logs(std::string_view broker_key) {
  if (broker_key == "producer.id.expiration.ms") return true;
  // Kafka lets only the first (primary) synonym of a topic key change
  // dynamically, e.g. log.retention.ms but not log.retention.hours.
  for (const TopicConfigDef& def : topic_config_defs())
    if (!def.synonyms.empty() && def.synonyms.front().name == broker_key) return applied_topic_key(def.name);
  return false;
}

std::optional<std::string> check_log_default_value(std::string_view broker_key, std::string_view value) {
  for (const TopicConfigDef& def : topic_config_defs()) {
    if (def.synonyms.empty() || def.synonyms.front().name != broker_key) continue;
    ParsedValue parsed = parse_topic_config_value(def, value);
    if (parsed.value) return std::nullopt;
    std::string message = parsed.error;
    const std::string topic_part = " for configuration " + std::string(def.name) + ":";
    if (auto at = message.find(topic_part); at != std::string::npos)
      message.replace(at, topic_part.size(), " for configuration " + std::string(broker_key) + ":");
    return message;
  }
  return std::nullopt;
}

EffectiveTopicConfig effective_topic_config(const ConfigMap& topic_overrides, const BrokerConfigLayers& broker) {
  // describe_topic_configs resolves each topic key through its overrides and
  // broker synonyms (with unit conversion, e.g. log.retention.hours), exactly
  // as DescribeConfigs shows it; the log config is built from those values.
  std::map<std::string, std::string> values;
  for (TopicConfigEntry& e : describe_topic_configs(topic_overrides, broker))
    if (e.value && applied_topic_key(e.name)) values.emplace(std::move(e.name), std::move(*e.value));

  EffectiveTopicConfig out;
  if (auto it = values.find("min.insync.replicas"); it != values.end()) {
    const std::string& v = it->second;
    std::from_chars(v.data(), v.data() + v.size(), out.min_insync_replicas);
    values.erase(it);
  }
  // Values were validated when they were stored (AlterConfigs, CreateTopics,
  // server.properties), so apply() only fails on a record written by a
  // broker with other rules; the key keeps its previous (default) value then.
  out.log.apply(values);
  if (auto v = effective_broker_value(broker, "producer.id.expiration.ms")) {
    int64_t ms = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), ms);
    if (ec == std::errc() && end == v->data() + v->size()) out.log.producer_id_expiration_ms = ms;
  }
  return out;
}

}  // namespace samsa::broker
