#pragma once
// Topic-level configuration as Apache Kafka 4.0 defines it (LogConfig): the
// keys, their types, validators and the broker keys that supply their
// defaults; validation of a topic's overrides; and the effective config of a
// topic (topic override > dynamic per-broker > dynamic cluster default >
// server.properties > built-in default) in the shape DescribeConfigs reports.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "samsa/broker/metadata_image.h"

namespace samsa::broker {

struct BrokerConfig;

// DescribeConfigs ConfigType ids (v3+).
enum class TopicConfigType : int8_t { kBoolean = 1, kString = 2, kInt = 3, kShort = 4, kLong = 5, kDouble = 6, kList = 7 };
std::string_view to_string(TopicConfigType type);

// DescribeConfigs ConfigSource ids.
enum class ConfigSourceId : int8_t {
  kUnknown = 0,
  kDynamicTopic = 1,
  kDynamicBroker = 2,
  kDynamicDefaultBroker = 3,
  kStaticBroker = 4,
  kDefault = 5,
  kDynamicBrokerLogger = 6,
};

// A broker key that supplies a topic key's default; `unit_ms` converts its
// value to the topic key's unit (3600000 for *.hours, 60000 for *.minutes).
struct ServerSynonym {
  std::string_view name;
  int64_t unit_ms = 1;
  const char* kafka_default = nullptr;  // the broker key's Kafka default; nullptr = null
};

struct TopicConfigDef {
  std::string_view name;
  TopicConfigType type = TopicConfigType::kString;
  const char* default_value = nullptr;  // Kafka's LogConfig default
  std::optional<int64_t> min;           // Int / Long bounds (inclusive)
  std::optional<int64_t> max;
  std::optional<double> min_double;     // Double bounds (inclusive)
  std::optional<double> max_double;
  std::span<const std::string_view> allowed;  // String values / List items
  bool ignore_case = false;
  std::span<const ServerSynonym> synonyms;    // highest priority first; empty = none
  // Custom rule (e.g. throttled replica lists, compression levels); returns
  // a reason when the parsed value is not acceptable.
  std::optional<std::string> (*check)(std::string_view value) = nullptr;
};

// All topic keys, sorted by name.
std::span<const TopicConfigDef> topic_config_defs();
const TopicConfigDef* find_topic_config(std::string_view name);

// Parses `value` for `def`; the normalised value (Kafka's
// ConfigDef.convertToString of the parsed value), or an error message such as
// Kafka's "Invalid value x for configuration y: ...".
struct ParsedValue {
  std::optional<std::string> value;
  std::string error;  // set when value is nullopt
};
ParsedValue parse_topic_config_value(const TopicConfigDef& def, std::string_view value);

// The dynamic and static broker config that topic defaults come from.
struct BrokerConfigLayers {
  ConfigMap dynamic_broker;   // ConfigRecords of BROKER "<this node id>"
  ConfigMap dynamic_default;  // ConfigRecords of BROKER ""
  ConfigMap static_broker;    // explicit keys of server.properties / --override
};

// Layers for `node_id` from an image and the static configuration.
BrokerConfigLayers broker_config_layers(const MetadataImage& image, int32_t node_id, const BrokerConfig& config);
// Static layer only (explicit keys of config.raw()).
ConfigMap static_broker_layer(const BrokerConfig& config);

// Validates a complete set of topic overrides (Kafka's LogConfig.validate):
// unknown keys, values, and rules across keys, with the broker layers filling
// keys the topic does not set. Returns the INVALID_CONFIG message, if any.
std::optional<std::string> validate_topic_configs(const ConfigMap& overrides, const BrokerConfigLayers& broker);

struct ConfigSynonymEntry {
  std::string name;
  std::optional<std::string> value;
  ConfigSourceId source = ConfigSourceId::kDefault;
  bool operator==(const ConfigSynonymEntry&) const = default;
};

struct TopicConfigEntry {
  std::string name;
  std::optional<std::string> value;
  ConfigSourceId source = ConfigSourceId::kDefault;
  TopicConfigType type = TopicConfigType::kString;
  bool read_only = false;
  bool is_sensitive = false;
  // As DescribeConfigs v1+ lists them: the topic override (if any), then the
  // broker synonyms by source (dynamic broker, dynamic default, static,
  // default), each source in synonym priority order.
  std::vector<ConfigSynonymEntry> synonyms;
};

// The effective value of one topic key; nullopt for unknown keys.
std::optional<TopicConfigEntry> describe_topic_config(std::string_view name, const ConfigMap& overrides,
                                                      const BrokerConfigLayers& broker);
// Every topic key, sorted by name.
std::vector<TopicConfigEntry> describe_topic_configs(const ConfigMap& overrides, const BrokerConfigLayers& broker);

}  // namespace samsa::broker
