#include "config_resources.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>
#include <string_view>

#include "../metadata/controller_internal.h"
#include "samsa/broker/broker_config.h"
#include "samsa/broker/controller_service.h"
#include "samsa/broker/dynamic_broker_config.h"
#include "samsa/broker/effective_log_config.h"
#include "samsa/util/logging.h"

namespace samsa::broker::admin {

using metadata::ApiError;
using protocol::ErrorCode;

metadata::ControllerDefaults defaults(const BrokerServices& services) {
  if (services.controller != nullptr) return services.controller->defaults();
  metadata::ControllerDefaults d = metadata::controller_defaults(*services.config);
  if (d.node_id < 0) d.node_id = services.node_id;
  return d;
}

ApiError run_controller_op(
    const BrokerServices& services, bool validate_only,
    const std::function<std::vector<metadata::RecordAndVersion>(const MetadataImage&, metadata::ReplicaPlacer&)>&
        decide) {
  if (validate_only) {
    auto image = services.metadata.current();
    metadata::ReplicaPlacer placer;
    decide(*image, placer);
    return ApiError::none();
  }
  if (services.controller == nullptr) return {ErrorCode::NOT_CONTROLLER, "This node has no active controller."};
  ControllerService* controller = services.controller;
  auto result = controller->commit([&](const MetadataImage& image) { return decide(image, controller->placer()); });
  if (auto* error = std::get_if<ControllerError>(&result)) return to_api_error(*error);
  return ApiError::none();
}

std::optional<std::string> invalid_topic_name(std::string_view name) {
  return metadata::detail::invalid_topic_name(name);
}

namespace {
std::mutex root_level_mu;
std::string root_level;  // set by IncrementalAlterConfigs; empty = from the configuration
}  // namespace

std::string root_log_level(const BrokerServices& services) {
  {
    std::lock_guard lock(root_level_mu);
    if (!root_level.empty()) return root_level;
  }
  std::string level = services.config && !services.config->log_level.empty() ? services.config->log_level : "info";
  for (auto& c : level) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (level == "WARNING") level = "WARN";
  return level;
}

bool set_root_log_level(const std::string& level) {
  static const std::map<std::string, std::string, std::less<>> kLevels = {{"FATAL", "error"}, {"ERROR", "error"},
                                                                          {"WARN", "warn"},   {"INFO", "info"},
                                                                          {"DEBUG", "debug"}, {"TRACE", "trace"}};
  auto it = kLevels.find(level);
  if (it == kLevels.end()) return false;
  set_log_level(it->second);
  std::lock_guard lock(root_level_mu);
  root_level = level;
  return true;
}

namespace {

// DescribeConfigs ConfigType ids.
int8_t type_id(ConfigType t) {
  switch (t) {
    case ConfigType::Boolean: return 1;
    case ConfigType::String: return 2;
    case ConfigType::Int: return 3;
    case ConfigType::Short: return 4;
    case ConfigType::Long: return 5;
    case ConfigType::List: return 7;
  }
  return 0;
}

// Kafka's DynamicBrokerConfig.brokerConfigSynonyms (without listener prefixes).
std::vector<std::string> synonym_names(const std::string& name) {
  static const std::vector<std::vector<std::string>> families = {
      {"log.roll.ms", "log.roll.hours"},
      {"log.roll.jitter.ms", "log.roll.jitter.hours"},
      {"log.retention.ms", "log.retention.minutes", "log.retention.hours"},
  };
  if (name == "log.flush.interval.ms") return {"log.flush.interval.ms", "log.flush.scheduler.interval.ms"};
  for (const auto& family : families)
    if (std::find(family.begin(), family.end(), name) != family.end()) return family;
  return {name};
}

// Keys Kafka can update dynamically (DynamicBrokerConfig.AllDynamicConfigs):
// the topic-default keys of DynamicLogConfig plus thread pools, listeners,
// connection quotas, the log cleaner and TLS/SASL families.
bool is_dynamic(std::string_view name) {
  static const std::set<std::string, std::less<>> keys = [] {
    std::set<std::string, std::less<>> s = {"num.io.threads",
                                            "num.network.threads",
                                            "num.replica.fetchers",
                                            "num.recovery.threads.per.data.dir",
                                            "background.threads",
                                            "listeners",
                                            "advertised.listeners",
                                            "listener.security.protocol.map",
                                            "max.connections",
                                            "max.connections.per.ip",
                                            "max.connections.per.ip.overrides",
                                            "max.connection.creation.rate",
                                            "log.cleaner.threads",
                                            "log.cleaner.dedupe.buffer.size",
                                            "log.cleaner.io.buffer.load.factor",
                                            "log.cleaner.io.buffer.size",
                                            "log.cleaner.io.max.bytes.per.second",
                                            "log.cleaner.backoff.ms",
                                            "metric.reporters",
                                            "producer.id.expiration.ms",
                                            "transaction.partition.verification.enable",
                                            "sasl.enabled.mechanisms",
                                            "sasl.jaas.config",
                                            "remote.log.manager.copy.max.bytes.per.second",
                                            "remote.log.manager.fetch.max.bytes.per.second",
                                            "remote.log.index.file.cache.total.size.bytes",
                                            "config.providers",
                                            "group.consumer.session.timeout.ms",
                                            "group.consumer.heartbeat.interval.ms",
                                            "group.share.session.timeout.ms",
                                            "group.share.heartbeat.interval.ms",
                                            "group.share.record.lock.duration.ms",
                                            // DynamicConfig.Broker's replication quotas
                                            "leader.replication.throttled.rate",
                                            "follower.replication.throttled.rate"};
    for (const TopicConfigDef& def : topic_config_defs())
      if (!def.synonyms.empty()) s.emplace(def.synonyms.front().name);
    return s;
  }();
  return keys.contains(name) || name.starts_with("ssl.") || name.starts_with("sasl.") ||
         name.starts_with("listener.name.") || name.starts_with("remote.log.");
}

// DynamicBrokerConfig's PerBrokerConfigs: only a broker id may set them.
bool is_per_broker(std::string_view name) {
  static const std::set<std::string, std::less<>> cluster_level = {"max.connections", "max.connection.creation.rate",
                                                                   "num.network.threads"};
  if (name == "listeners" || name == "advertised.listeners" || name == "listener.security.protocol.map") return true;
  if (name.starts_with("ssl.") || name.starts_with("sasl.")) return true;
  if (name.starts_with("listener.name.")) {
    std::string_view rest = name.substr(14);
    size_t dot = rest.find('.');
    return dot != std::string_view::npos && !cluster_level.contains(rest.substr(dot + 1));
  }
  return false;
}

struct Layers {
  ConfigMap dynamic_broker, dynamic_default, static_broker;
  std::map<std::string, std::optional<std::string>, std::less<>> defaults;
};

std::vector<ConfigSynonymEntry> synonyms_of(const Layers& layers, const std::string& name, bool sensitive) {
  std::vector<ConfigSynonymEntry> out;
  auto names = synonym_names(name);
  const std::pair<const ConfigMap*, ConfigSourceId> maps[] = {
      {&layers.dynamic_broker, ConfigSourceId::kDynamicBroker},
      {&layers.dynamic_default, ConfigSourceId::kDynamicDefaultBroker},
      {&layers.static_broker, ConfigSourceId::kStaticBroker},
  };
  for (const auto& [map, source] : maps)
    for (const auto& n : names)
      if (auto it = map->find(n); it != map->end()) out.push_back({n, it->second, source});
  for (const auto& n : names)
    if (auto it = layers.defaults.find(n); it != layers.defaults.end())
      out.push_back({n, it->second, ConfigSourceId::kDefault});
  size_t first = 0;
  while (first < out.size() && out[first].name != name) ++first;
  out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(first));
  if (sensitive)
    for (auto& s : out) s.value.reset();
  return out;
}

}  // namespace

std::optional<ApiError> precheck_alter(const BrokerServices& services, int8_t resource_type,
                                       const std::string& resource_name,
                                       const std::vector<metadata::AlterableConfig>& configs, bool incremental,
                                       bool require_own_id) {
  std::set<std::string, std::less<>> keys;
  for (const auto& c : configs)
    if (!keys.insert(c.name).second) return ApiError{ErrorCode::INVALID_REQUEST, "Error due to duplicate config keys"};
  std::string nulls;
  for (const auto& c : configs)
    if ((!incremental || c.op != metadata::AlterConfigOp::kDelete) && !c.value)
      nulls += (nulls.empty() ? "" : ", ") + c.name;
  if (!nulls.empty()) return ApiError{ErrorCode::INVALID_REQUEST, "Null value not supported for : " + nulls};
  for (const auto& c : configs)
    if (static_cast<int8_t>(c.op) < 0 || static_cast<int8_t>(c.op) > 3)
      return ApiError{ErrorCode::INVALID_REQUEST, "Unknown operations type " + std::to_string(static_cast<int>(c.op))};

  switch (static_cast<ConfigResourceType>(resource_type)) {
    case ConfigResourceType::kTopic: return std::nullopt;
    case ConfigResourceType::kBrokerLogger:
      if (incremental) return std::nullopt;
      break;
    case ConfigResourceType::kBroker: {
      if (!resource_name.empty()) {
        int64_t id = 0;
        auto [end, ec] = std::from_chars(resource_name.data(), resource_name.data() + resource_name.size(), id);
        if (ec != std::errc() || end != resource_name.data() + resource_name.size())
          return ApiError{ErrorCode::INVALID_REQUEST, "Node id must be an integer, but it is: " + resource_name};
        if (require_own_id && id != services.node_id)
          return ApiError{
              ErrorCode::INVALID_REQUEST,
              "Unexpected broker id, expected " + std::to_string(services.node_id) + ", but received " + resource_name};
      }
      // DynamicBrokerConfig#validateConfigs over the keys being set; keys
      // Samsa does not know are custom configs, which Kafka keeps.
      // Keys Kafka allows to change but Samsa would not apply while running
      // are refused too: storing them would describe a setting as in force
      // when it is not.
      std::vector<std::string> fixed, per_broker, not_applied;
      for (const auto& c : configs) {
        if (incremental && c.op == metadata::AlterConfigOp::kDelete) continue;
        bool kafka_key = find_config_key(c.name) != nullptr || is_known_kafka_key(c.name);
        if (kafka_key && !is_dynamic(c.name)) fixed.push_back(c.name);
        else if (is_dynamic(c.name) && !applies_dynamically(services.dynamic_config, c.name))
          not_applied.push_back(c.name);
        if (resource_name.empty() && is_per_broker(c.name)) per_broker.push_back(c.name);
      }
      auto set = [](const std::vector<std::string>& names) {
        std::string s;
        for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
        return "Set(" + s + ")";
      };
      if (!fixed.empty())
        return ApiError{ErrorCode::INVALID_REQUEST, "Cannot update these configs dynamically: " + set(fixed)};
      if (!per_broker.empty())
        return ApiError{
            ErrorCode::INVALID_REQUEST,
            "Cannot update these configs at default cluster level, broker id must be specified: " + set(per_broker)};
      if (!not_applied.empty())
        return ApiError{ErrorCode::INVALID_REQUEST,
                        "Cannot update these configs dynamically: " + set(not_applied) +
                            " (Samsa does not apply them to a running broker; set them in server.properties)"};
      for (const auto& c : configs)
        if (c.value && (!incremental || c.op != metadata::AlterConfigOp::kDelete) && applied_by_logs(c.name))
          if (auto reason = check_log_default_value(c.name, *c.value))
            return ApiError{ErrorCode::INVALID_REQUEST, *reason};
      if (services.dynamic_config != nullptr)
        for (const auto& c : configs)
          if (c.value && (!incremental || c.op == metadata::AlterConfigOp::kSet))
            if (auto reason = services.dynamic_config->validate(c.name, *c.value))
              return ApiError{ErrorCode::INVALID_REQUEST, *reason};
      return std::nullopt;
    }
    default: break;
  }
  return ApiError{ErrorCode::INVALID_REQUEST,
                  "Unknown resource type " + std::to_string(static_cast<int>(resource_type))};
}

ApiError broker_resource_error(int8_t resource_type, ApiError e) {
  if (resource_type == static_cast<int8_t>(ConfigResourceType::kBroker) && e.code == ErrorCode::INVALID_CONFIG)
    e.code = ErrorCode::INVALID_REQUEST;
  return e;
}

int8_t config_type_id(const std::string& broker_key) {
  const ConfigKey* key = find_config_key(broker_key);
  return key ? type_id(key->type) : 0;
}

std::vector<DescribedConfig> describe_topic(const BrokerServices& services, const MetadataImage& image,
                                            const std::string& topic) {
  BrokerConfigLayers layers = broker_config_layers(image, services.node_id, *services.config);
  const ConfigMap* overrides = image.config(ConfigResourceType::kTopic, topic);
  ConfigMap none;
  std::vector<DescribedConfig> out;
  for (TopicConfigEntry& e : describe_topic_configs(overrides ? *overrides : none, layers)) {
    DescribedConfig c;
    c.name = std::move(e.name);
    c.value = e.is_sensitive ? std::nullopt : std::move(e.value);
    c.source = e.source;
    c.type = static_cast<int8_t>(e.type);
    c.read_only = e.read_only;
    c.is_sensitive = e.is_sensitive;
    c.synonyms = std::move(e.synonyms);
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<DescribedConfig> describe_broker(const BrokerServices& services, const MetadataImage& image,
                                             bool per_broker) {
  const BrokerConfig& config = *services.config;
  BrokerConfigLayers base = broker_config_layers(image, services.node_id, config);
  Layers layers{std::move(base.dynamic_broker), std::move(base.dynamic_default), std::move(base.static_broker), {}};
  std::vector<ConfigEntry> entries = config.describe();
  for (const ConfigEntry& e : entries) {
    layers.defaults.emplace(e.name, e.default_value);
    // Keys set through the environment count as static broker config.
    if (e.source == ConfigSource::Environment && e.value) layers.static_broker[e.name] = *e.value;
  }

  std::vector<DescribedConfig> out;
  auto add = [&](const std::string& name, std::optional<std::string> value, int8_t type) {
    bool sensitive = type == 0;  // Kafka's maybeSensitive: unknown (or password) types
    DescribedConfig c;
    c.name = name;
    c.value = sensitive ? std::nullopt : std::move(value);
    c.type = type;
    c.is_sensitive = sensitive;
    c.read_only = !is_dynamic(name) || !applies_dynamically(services.dynamic_config, name);
    c.synonyms = synonyms_of(layers, name, sensitive);
    if (!per_broker)
      std::erase_if(c.synonyms,
                    [](const ConfigSynonymEntry& s) { return s.source != ConfigSourceId::kDynamicDefaultBroker; });
    c.source = c.synonyms.empty() ? ConfigSourceId::kDefault : c.synonyms.front().source;
    out.push_back(std::move(c));
  };

  if (!per_broker) {
    for (const auto& [name, value] : layers.dynamic_default) add(name, value, config_type_id(name));
    return out;
  }
  std::set<std::string, std::less<>> listed;
  for (const ConfigEntry& e : entries) {
    // A key Samsa parses but does not act on is not described as in force.
    if (const ConfigKey* key = find_config_key(e.name); key != nullptr && key->unsupported) {
      listed.insert(e.name);
      continue;
    }
    std::optional<std::string> value = e.value;
    if (auto it = layers.dynamic_default.find(e.name); it != layers.dynamic_default.end()) value = it->second;
    if (auto it = layers.dynamic_broker.find(e.name); it != layers.dynamic_broker.end()) value = it->second;
    add(e.name, std::move(value), type_id(e.type));
    listed.insert(e.name);
  }
  // Keys Samsa does not know: Kafka lists its originals too, as sensitive.
  for (const std::string& name : config.ignored_keys())
    if (listed.insert(name).second) add(name, std::nullopt, 0);
  for (const ConfigMap* m : {&layers.dynamic_broker, &layers.dynamic_default})
    for (const auto& [name, value] : *m)
      if (listed.insert(name).second) add(name, std::nullopt, 0);
  return out;
}

std::vector<metadata::ApiError> commit_config_changes(const BrokerServices& services,
                                                      const std::vector<metadata::AlterConfigsResource>& resources,
                                                      bool validate_only, AlterConfigsDecision decision) {
  metadata::ControllerDefaults defaults = admin::defaults(services);
  std::vector<metadata::ApiError> decided;
  metadata::ApiError failure =
      run_controller_op(services, validate_only, [&](const MetadataImage& image, metadata::ReplicaPlacer&) {
        auto out = decision(image, resources, validate_only, defaults);
        decided.clear();
        for (auto& res : out.resources) decided.push_back(std::move(res.error));
        return std::move(out.records);
      });
  std::vector<metadata::ApiError> errors;
  for (size_t k = 0; k < resources.size(); ++k) {
    metadata::ApiError e = k < decided.size() ? decided[k] : failure;
    if (e.ok() && !failure.ok()) e = failure;
    errors.push_back(broker_resource_error(resources[k].resource_type, std::move(e)));
  }
  return errors;
}

}  // namespace samsa::broker::admin
