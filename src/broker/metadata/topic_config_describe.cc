// The effective configuration of a topic and its DescribeConfigs synonyms
// (declared in topic_config.h).
#include <cstdlib>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/topic_config.h"

namespace samsa::broker {

namespace {

// The broker's built-in default for a synonym: Samsa's broker table when it
// knows the key, else Kafka's default recorded with the synonym.
std::optional<std::string> broker_default(const ServerSynonym& syn) {
  if (const ConfigKey* key = find_config_key(syn.name)) {
    if (key->dynamic_default) return key->dynamic_default();
    if (key->default_value) return std::string(key->default_value);
    return std::nullopt;
  }
  if (syn.kafka_default) return std::string(syn.kafka_default);
  return std::nullopt;
}

// A broker synonym's value converted to the topic key's unit and normalised.
std::optional<std::string> convert(const TopicConfigDef& def, const ServerSynonym& syn, const std::string& raw) {
  std::string value = raw;
  if (syn.unit_ms != 1) {
    char* end = nullptr;
    long long n = std::strtoll(raw.c_str(), &end, 10);
    if (end == raw.c_str()) return std::nullopt;
    value = std::to_string(static_cast<int64_t>(n) * syn.unit_ms);
  }
  ParsedValue parsed = parse_topic_config_value(def, value);
  if (!parsed.value && def.name == "retention.ms") {
    // Kafka maps any negative broker retention time to -1 (unlimited).
    char* end = nullptr;
    if (std::strtoll(value.c_str(), &end, 10) < 0 && end != value.c_str()) return std::string("-1");
  }
  if (parsed.value && def.name == "retention.ms" && parsed.value->front() == '-') return std::string("-1");
  return parsed.value;
}

const std::string* lookup(const ConfigMap& map, std::string_view key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

std::optional<std::string> effective_value(const TopicConfigDef& def, const BrokerConfigLayers& broker) {
  const ConfigMap* layers[] = {&broker.dynamic_broker, &broker.dynamic_default, &broker.static_broker};
  // Broker keys are resolved as KafkaConfig does: the layers merge first (a
  // dynamic value replaces a static one), then the highest-priority synonym
  // that has a value wins (log.retention.ms over .minutes over .hours).
  for (const ServerSynonym& syn : def.synonyms)
    for (const ConfigMap* layer : layers)
      if (const std::string* v = lookup(*layer, syn.name))
        if (auto converted = convert(def, syn, *v)) return converted;
  for (const ServerSynonym& syn : def.synonyms)
    if (auto d = broker_default(syn))
      if (auto converted = convert(def, syn, *d)) return converted;
  if (def.default_value == nullptr) return std::nullopt;
  return parse_topic_config_value(def, def.default_value).value;
}

std::vector<ConfigSynonymEntry> broker_synonyms(const TopicConfigDef& def, const BrokerConfigLayers& broker) {
  std::vector<ConfigSynonymEntry> out;
  if (def.synonyms.empty()) return out;
  const std::pair<const ConfigMap*, ConfigSourceId> layers[] = {
      {&broker.dynamic_broker, ConfigSourceId::kDynamicBroker},
      {&broker.dynamic_default, ConfigSourceId::kDynamicDefaultBroker},
      {&broker.static_broker, ConfigSourceId::kStaticBroker},
  };
  for (const auto& [map, source] : layers)
    for (const ServerSynonym& syn : def.synonyms)
      if (const std::string* v = lookup(*map, syn.name)) out.push_back({std::string(syn.name), *v, source});
  for (const ServerSynonym& syn : def.synonyms)
    if (auto d = broker_default(syn)) out.push_back({std::string(syn.name), *d, ConfigSourceId::kDefault});
  // Kafka lists synonyms starting at the first one named like the topic
  // key's main broker synonym; e.g. a log.retention.hours-only list is empty.
  std::string_view main = def.synonyms.front().name;
  size_t first = 0;
  while (first < out.size() && out[first].name != main) ++first;
  out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(first));
  return out;
}

TopicConfigEntry describe(const TopicConfigDef& def, const ConfigMap& overrides, const BrokerConfigLayers& broker) {
  TopicConfigEntry entry;
  entry.name = std::string(def.name);
  entry.type = def.type;
  entry.synonyms = broker_synonyms(def, broker);
  if (const std::string* override_value = lookup(overrides, def.name)) {
    ParsedValue parsed = parse_topic_config_value(def, *override_value);
    entry.value = parsed.value ? *parsed.value : *override_value;
    entry.synonyms.insert(entry.synonyms.begin(),
                          ConfigSynonymEntry{entry.name, entry.value, ConfigSourceId::kDynamicTopic});
  } else {
    entry.value = effective_value(def, broker);
  }
  entry.source = entry.synonyms.empty() ? ConfigSourceId::kDefault : entry.synonyms.front().source;
  return entry;
}

}  // namespace

std::optional<TopicConfigEntry> describe_topic_config(std::string_view name, const ConfigMap& overrides,
                                                      const BrokerConfigLayers& broker) {
  const TopicConfigDef* def = find_topic_config(name);
  if (def == nullptr) return std::nullopt;
  return describe(*def, overrides, broker);
}

std::vector<TopicConfigEntry> describe_topic_configs(const ConfigMap& overrides, const BrokerConfigLayers& broker) {
  std::vector<TopicConfigEntry> out;
  for (const TopicConfigDef& def : topic_config_defs()) out.push_back(describe(def, overrides, broker));
  return out;
}

}  // namespace samsa::broker
