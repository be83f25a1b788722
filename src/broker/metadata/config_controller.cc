// AlterConfigs and IncrementalAlterConfigs (Kafka's ConfigurationControlManager).
#include <algorithm>
#include <charconv>
#include <set>

#include "controller_internal.h"
#include "samsa/broker/broker_config.h"

namespace samsa::broker::metadata {

using protocol::ErrorCode;

namespace {

constexpr std::string_view op_name(AlterConfigOp op) {
  switch (op) {
    case AlterConfigOp::kSet: return "SET";
    case AlterConfigOp::kDelete: return "DELETE";
    case AlterConfigOp::kAppend: return "APPEND";
    case AlterConfigOp::kSubtract: return "SUBTRACT";
  }
  return "UNKNOWN";
}

bool is_list(ConfigResourceType type, std::string_view key) {
  if (type == ConfigResourceType::kTopic) {
    const TopicConfigDef* def = find_topic_config(key);
    return def && def->type == TopicConfigType::kList;
  }
  const ConfigKey* def = find_config_key(key);
  return def && def->type == ConfigType::List;
}

std::optional<std::string> schema_default(ConfigResourceType type, std::string_view key) {
  if (type == ConfigResourceType::kTopic) {
    const TopicConfigDef* def = find_topic_config(key);
    if (def && def->default_value) return std::string(def->default_value);
    return std::nullopt;
  }
  const ConfigKey* def = find_config_key(key);
  if (def && def->default_value) return std::string(def->default_value);
  return std::nullopt;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

// Value check of a dynamic broker key Samsa knows; unknown keys are kept as
// Kafka keeps custom configs.
std::optional<std::string> check_broker_value(std::string_view name, const std::string& value) {
  const ConfigKey* key = find_config_key(name);
  if (key == nullptr) return std::nullopt;
  auto invalid = [&](const std::string& why) {
    return "Invalid value " + value + " for configuration " + std::string(name) + ": " + why;
  };
  auto allowed = [&](std::string_view item) {
    if (key->allowed.empty()) return true;
    return std::any_of(key->allowed.begin(), key->allowed.end(), [&](std::string_view a) {
      if (!key->ignore_case) return a == item;
      return a.size() == item.size() && std::equal(a.begin(), a.end(), item.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
             });
    });
  };
  switch (key->type) {
    case ConfigType::Boolean:
      if (value != "true" && value != "false" && value != "TRUE" && value != "FALSE")
        return invalid("Expected value to be either true or false");
      return std::nullopt;
    case ConfigType::Short:
    case ConfigType::Int:
    case ConfigType::Long: {
      int64_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size())
        return invalid("Not a number of type " + std::string(to_string(key->type)));
      if (key->min && n < *key->min) return invalid("Value must be at least " + std::to_string(*key->min));
      if (key->max && n > *key->max) return invalid("Value must be no more than " + std::to_string(*key->max));
      return std::nullopt;
    }
    case ConfigType::String:
      if (!allowed(value)) return invalid("Value is not one of the allowed values");
      return std::nullopt;
    case ConfigType::List:
      for (const auto& item : split_commas(value))
        if (!allowed(item)) return invalid("Value is not one of the allowed values");
      return std::nullopt;
  }
  return std::nullopt;
}

ApiError check_resource_name(const ConfigResource& r) {
  if (r.type == ConfigResourceType::kTopic) {
    if (r.name.empty()) return {ErrorCode::INVALID_REQUEST, "Default topic resources are not allowed."};
    if (auto why = detail::invalid_topic_name(r.name)) return {ErrorCode::INVALID_TOPIC_EXCEPTION, *why};
    return ApiError::none();
  }
  if (r.type == ConfigResourceType::kBroker) {
    if (r.name.empty()) return ApiError::none();
    int64_t id = 0;
    auto [end, ec] = std::from_chars(r.name.data(), r.name.data() + r.name.size(), id);
    if (ec != std::errc() || end != r.name.data() + r.name.size() || id > INT32_MAX)
      return {ErrorCode::INVALID_REQUEST, "Unable to parse broker name as a base 10 number."};
    if (id < 0) return {ErrorCode::INVALID_REQUEST, "Invalid negative broker ID."};
    return ApiError::none();
  }
  return {ErrorCode::INVALID_REQUEST, "Unknown resource type " + std::to_string(static_cast<int>(r.type))};
}

ApiError check_exists(const MetadataImage& image, const ConfigResource& r) {
  if (r.type == ConfigResourceType::kTopic && image.topic(r.name) == nullptr)
    return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "The topic '" + r.name + "' does not exist."};
  if (r.type == ConfigResourceType::kBroker && !r.name.empty()) {
    int32_t id = std::stoi(r.name);
    if (!image.brokers.contains(id) && !image.controllers.contains(id))
      return {ErrorCode::BROKER_ID_NOT_REGISTERED, "No node with id " + r.name + " found."};
  }
  return ApiError::none();
}

AlterConfigsResult alter(const MetadataImage& image, std::span<const AlterConfigsResource> resources,
                         bool validate_only, const ControllerDefaults& defaults, bool incremental) {
  AlterConfigsResult out;
  for (const AlterConfigsResource& res : resources) {
    ConfigResource resource{static_cast<ConfigResourceType>(res.resource_type), res.resource_name};
    std::vector<RecordAndVersion> records;
    ApiError e = detail::alter_resource_configs(image, resource, res.configs, incremental, false, defaults, records);
    if (e.ok())
      for (auto& r : records) out.records.push_back(std::move(r));
    out.resources.push_back({res.resource_type, res.resource_name, std::move(e)});
  }
  if (validate_only) out.records.clear();
  return out;
}

}  // namespace

ApiError detail::alter_resource_configs(const MetadataImage& image, const ConfigResource& resource,
                                        const std::vector<AlterableConfig>& ops, bool incremental, bool newly_created,
                                        const ControllerDefaults& defaults, std::vector<RecordAndVersion>& out) {
  std::set<std::string, std::less<>> keys;
  for (const auto& op : ops)
    if (!keys.insert(op.name).second) return {ErrorCode::INVALID_REQUEST, "Error due to duplicate config keys"};
  const ConfigMap* current_map = image.config(resource.type, resource.name);
  ConfigMap empty;
  const ConfigMap& current = current_map ? *current_map : empty;
  bool broker = resource.type == ConfigResourceType::kBroker;

  std::vector<protocol::ConfigRecord> changes;
  auto change = [&](const std::string& key, const std::optional<std::string>& value) {
    protocol::ConfigRecord r;
    r.resource_type = static_cast<int8_t>(resource.type);
    r.resource_name = resource.name;
    r.name = key;
    r.value = value;
    changes.push_back(std::move(r));
  };
  for (const AlterableConfig& op : ops) {
    std::optional<std::string> old_value;
    if (auto it = current.find(op.name); it != current.end()) old_value = it->second;
    std::optional<std::string> new_value = old_value;
    switch (incremental ? op.op : AlterConfigOp::kSet) {
      case AlterConfigOp::kSet: new_value = op.value; break;
      case AlterConfigOp::kDelete: new_value.reset(); break;
      case AlterConfigOp::kAppend:
      case AlterConfigOp::kSubtract: {
        if (!is_list(resource.type, op.name))
          return {ErrorCode::INVALID_CONFIG, "Can't " + std::string(op_name(op.op)) + " to key " + op.name +
                                                 " because its type is not LIST."};
        std::optional<std::string> base = new_value ? new_value : schema_default(resource.type, op.name);
        std::vector<std::string> parts = base ? split_commas(*base) : std::vector<std::string>{};
        for (const std::string& item : split_commas(op.value.value_or(""))) {
          auto it = std::find(parts.begin(), parts.end(), item);
          if (op.op == AlterConfigOp::kAppend && it == parts.end()) parts.push_back(item);
          if (op.op == AlterConfigOp::kSubtract && it != parts.end()) parts.erase(it);
        }
        new_value = join(parts);
        break;
      }
    }
    // Broker configs always get a record, so brokers reload them (KAFKA-14136).
    if (new_value != old_value || broker) change(op.name, new_value);
  }
  if (!incremental)  // the legacy API replaces the whole resource
    for (const auto& [key, value] : current)
      if (!keys.contains(key)) change(key, std::nullopt);

  if (ApiError e = check_resource_name(resource); !e.ok()) return e;
  ConfigMap all = current;
  for (const auto& c : changes) {
    if (c.value) all[c.name] = *c.value;
    else all.erase(c.name);
  }
  if (resource.type == ConfigResourceType::kTopic) {
    if (auto why = validate_topic_configs(all, controller_config_layers(image, defaults)))
      return {ErrorCode::INVALID_CONFIG, *why};
  } else {
    for (const auto& c : changes)
      if (c.value)
        if (auto why = check_broker_value(c.name, *c.value)) return {ErrorCode::INVALID_CONFIG, *why};
  }
  if (!newly_created)
    if (ApiError e = check_exists(image, resource); !e.ok()) return e;
  for (auto& c : changes) out.push_back({std::move(c), 0});
  return ApiError::none();
}

AlterConfigsResult incremental_alter_configs(const MetadataImage& image, std::span<const AlterConfigsResource> resources,
                                             bool validate_only, const ControllerDefaults& defaults) {
  return alter(image, resources, validate_only, defaults, true);
}

AlterConfigsResult alter_configs(const MetadataImage& image, std::span<const AlterConfigsResource> resources,
                                 bool validate_only, const ControllerDefaults& defaults) {
  return alter(image, resources, validate_only, defaults, false);
}

}  // namespace samsa::broker::metadata
