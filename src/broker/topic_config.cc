// The topic config table (Kafka 4.0 LogConfig), value parsing and validation.
// The effective-config view lives in metadata/topic_config_describe.cc.
#include "samsa/broker/topic_config.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

#include "samsa/broker/broker_config.h"

namespace samsa::broker {

namespace {

using T = TopicConfigType;
constexpr const char* kLongMax = "9223372036854775807";

constexpr std::string_view kCleanupPolicies[] = {"compact", "delete"};
constexpr std::string_view kCompressionTypes[] = {"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"};
constexpr std::string_view kTimestampTypes[] = {"CreateTime", "LogAppendTime"};

// Broker synonyms, highest priority first (Kafka's ServerTopicConfigSynonyms).
constexpr ServerSynonym kCleanupPolicySyn[] = {{"log.cleanup.policy", 1, "delete"}};
constexpr ServerSynonym kCompressionSyn[] = {{"compression.type", 1, "producer"}};
constexpr ServerSynonym kGzipSyn[] = {{"compression.gzip.level", 1, "-1"}};
constexpr ServerSynonym kLz4Syn[] = {{"compression.lz4.level", 1, "9"}};
constexpr ServerSynonym kZstdSyn[] = {{"compression.zstd.level", 1, "3"}};
constexpr ServerSynonym kDeleteRetentionSyn[] = {{"log.cleaner.delete.retention.ms", 1, "86400000"}};
constexpr ServerSynonym kFileDeleteDelaySyn[] = {{"log.segment.delete.delay.ms", 1, "60000"}};
constexpr ServerSynonym kFlushMessagesSyn[] = {{"log.flush.interval.messages", 1, kLongMax}};
constexpr ServerSynonym kFlushMsSyn[] = {{"log.flush.interval.ms", 1, nullptr},
                                         {"log.flush.scheduler.interval.ms", 1, kLongMax}};
constexpr ServerSynonym kIndexIntervalSyn[] = {{"log.index.interval.bytes", 1, "4096"}};
constexpr ServerSynonym kLocalRetentionBytesSyn[] = {{"log.local.retention.bytes", 1, "-2"}};
constexpr ServerSynonym kLocalRetentionMsSyn[] = {{"log.local.retention.ms", 1, "-2"}};
constexpr ServerSynonym kMaxCompactionLagSyn[] = {{"log.cleaner.max.compaction.lag.ms", 1, kLongMax}};
constexpr ServerSynonym kMaxMessageBytesSyn[] = {{"message.max.bytes", 1, "1048588"}};
constexpr ServerSynonym kTsAfterSyn[] = {{"log.message.timestamp.after.max.ms", 1, "3600000"}};
constexpr ServerSynonym kTsBeforeSyn[] = {{"log.message.timestamp.before.max.ms", 1, kLongMax}};
constexpr ServerSynonym kTsTypeSyn[] = {{"log.message.timestamp.type", 1, "CreateTime"}};
constexpr ServerSynonym kDirtyRatioSyn[] = {{"log.cleaner.min.cleanable.ratio", 1, "0.5"}};
constexpr ServerSynonym kMinCompactionLagSyn[] = {{"log.cleaner.min.compaction.lag.ms", 1, "0"}};
constexpr ServerSynonym kMinIsrSyn[] = {{"min.insync.replicas", 1, "1"}};
constexpr ServerSynonym kPreallocateSyn[] = {{"log.preallocate", 1, "false"}};
constexpr ServerSynonym kRetentionBytesSyn[] = {{"log.retention.bytes", 1, "-1"}};
constexpr ServerSynonym kRetentionMsSyn[] = {{"log.retention.ms", 1, nullptr},
                                             {"log.retention.minutes", 60'000, nullptr},
                                             {"log.retention.hours", 3'600'000, "168"}};
constexpr ServerSynonym kSegmentBytesSyn[] = {{"log.segment.bytes", 1, "1073741824"}};
constexpr ServerSynonym kSegmentIndexBytesSyn[] = {{"log.index.size.max.bytes", 1, "10485760"}};
constexpr ServerSynonym kSegmentJitterSyn[] = {{"log.roll.jitter.ms", 1, nullptr},
                                               {"log.roll.jitter.hours", 3'600'000, "0"}};
constexpr ServerSynonym kSegmentMsSyn[] = {{"log.roll.ms", 1, nullptr}, {"log.roll.hours", 3'600'000, "168"}};
constexpr ServerSynonym kUncleanSyn[] = {{"unclean.leader.election.enable", 1, "false"}};

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n\f\v");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n\f\v");
  return std::string(s.substr(b, e - b + 1));
}

std::optional<std::string> check_gzip_level(std::string_view v) {
  int64_t level = std::strtoll(std::string(v).c_str(), nullptr, 10);
  if (level == -1 || (level >= 1 && level <= 9)) return std::nullopt;
  return "Value must be between 1 and 9, or -1 for the default level";
}

// "", "*" or "partition:broker" items (Kafka's ThrottledReplicaListValidator).
std::optional<std::string> check_throttled_replicas(std::string_view v) {
  if (v.empty() || v == "*") return std::nullopt;
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    std::string item = trim(v.substr(start, comma == std::string_view::npos ? v.npos : comma - start));
    size_t colon = item.find(':');
    auto digits = [](std::string_view s) {
      return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (colon == std::string::npos || !digits(std::string_view(item).substr(0, colon)) ||
        !digits(std::string_view(item).substr(colon + 1)))
      return "Value must be '*' or a list of replicas as [partitionId]:[brokerId],[partitionId]:[brokerId],...";
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return std::nullopt;
}

constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();

// Sorted by name.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
const TopicConfigDef kDefs[] = {
    {.name = "cleanup.policy", .type = T::kList, .default_value = "delete", .allowed = kCleanupPolicies,
     .synonyms = kCleanupPolicySyn},
    {.name = "compression.gzip.level", .type = T::kInt, .default_value = "-1", .synonyms = kGzipSyn,
     .check = check_gzip_level},
    {.name = "compression.lz4.level", .type = T::kInt, .default_value = "9", .min = 1, .max = 17,
     .synonyms = kLz4Syn},
    {.name = "compression.type", .type = T::kString, .default_value = "producer", .allowed = kCompressionTypes,
     .synonyms = kCompressionSyn},
    {.name = "compression.zstd.level", .type = T::kInt, .default_value = "3", .min = -131072, .max = 22,
     .synonyms = kZstdSyn},
    {.name = "delete.retention.ms", .type = T::kLong, .default_value = "86400000", .min = 0,
     .synonyms = kDeleteRetentionSyn},
    {.name = "file.delete.delay.ms", .type = T::kLong, .default_value = "60000", .min = 0,
     .synonyms = kFileDeleteDelaySyn},
    {.name = "flush.messages", .type = T::kLong, .default_value = kLongMax, .min = 1, .synonyms = kFlushMessagesSyn},
    {.name = "flush.ms", .type = T::kLong, .default_value = kLongMax, .min = 0, .synonyms = kFlushMsSyn},
    {.name = "follower.replication.throttled.replicas", .type = T::kList, .default_value = "",
     .check = check_throttled_replicas},
    {.name = "index.interval.bytes", .type = T::kInt, .default_value = "4096", .min = 0,
     .synonyms = kIndexIntervalSyn},
    {.name = "leader.replication.throttled.replicas", .type = T::kList, .default_value = "",
     .check = check_throttled_replicas},
    {.name = "local.retention.bytes", .type = T::kLong, .default_value = "-2", .min = -2,
     .synonyms = kLocalRetentionBytesSyn},
    {.name = "local.retention.ms", .type = T::kLong, .default_value = "-2", .min = -2,
     .synonyms = kLocalRetentionMsSyn},
    {.name = "max.compaction.lag.ms", .type = T::kLong, .default_value = kLongMax, .min = 1,
     .synonyms = kMaxCompactionLagSyn},
    {.name = "max.message.bytes", .type = T::kInt, .default_value = "1048588", .min = 0,
     .synonyms = kMaxMessageBytesSyn},
    {.name = "message.timestamp.after.max.ms", .type = T::kLong, .default_value = "3600000", .min = 0,
     .synonyms = kTsAfterSyn},
    {.name = "message.timestamp.before.max.ms", .type = T::kLong, .default_value = kLongMax, .min = 0,
     .synonyms = kTsBeforeSyn},
    {.name = "message.timestamp.type", .type = T::kString, .default_value = "CreateTime", .allowed = kTimestampTypes,
     .synonyms = kTsTypeSyn},
    {.name = "min.cleanable.dirty.ratio", .type = T::kDouble, .default_value = "0.5", .min_double = 0.0,
     .max_double = 1.0, .synonyms = kDirtyRatioSyn},
    {.name = "min.compaction.lag.ms", .type = T::kLong, .default_value = "0", .min = 0,
     .synonyms = kMinCompactionLagSyn},
    {.name = "min.insync.replicas", .type = T::kInt, .default_value = "1", .min = 1, .synonyms = kMinIsrSyn},
    {.name = "preallocate", .type = T::kBoolean, .default_value = "false", .synonyms = kPreallocateSyn},
    {.name = "remote.log.copy.disable", .type = T::kBoolean, .default_value = "false"},
    {.name = "remote.log.delete.on.disable", .type = T::kBoolean, .default_value = "false"},
    {.name = "remote.storage.enable", .type = T::kBoolean, .default_value = "false"},
    {.name = "retention.bytes", .type = T::kLong, .default_value = "-1", .synonyms = kRetentionBytesSyn},
    {.name = "retention.ms", .type = T::kLong, .default_value = "604800000", .min = -1, .synonyms = kRetentionMsSyn},
    {.name = "segment.bytes", .type = T::kInt, .default_value = "1073741824", .min = 1024 * 1024,
     .synonyms = kSegmentBytesSyn},
    {.name = "segment.index.bytes", .type = T::kInt, .default_value = "10485760", .min = 4,
     .synonyms = kSegmentIndexBytesSyn},
    {.name = "segment.jitter.ms", .type = T::kLong, .default_value = "0", .min = 0, .synonyms = kSegmentJitterSyn},
    {.name = "segment.ms", .type = T::kLong, .default_value = "604800000", .min = 1, .synonyms = kSegmentMsSyn},
    {.name = "unclean.leader.election.enable", .type = T::kBoolean, .default_value = "false",
     .synonyms = kUncleanSyn},
};
#pragma GCC diagnostic pop

std::string invalid(std::string_view value, std::string_view name, std::string_view reason) {
  return fmt::format("Invalid value {} for configuration {}: {}", value, name, reason);
}

std::string one_of(std::span<const std::string_view> allowed) {
  return fmt::format("String must be one of: {}", fmt::join(allowed, ", "));
}

bool is_allowed(const TopicConfigDef& def, std::string_view item) {
  return std::any_of(def.allowed.begin(), def.allowed.end(), [&](std::string_view a) {
    if (!def.ignore_case) return a == item;
    return a.size() == item.size() &&
           std::equal(a.begin(), a.end(), item.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
  });
}

// Java's Double.toString for the values configs use (e.g. 0.5, 1.0).
std::string java_double(double d) {
  std::string s = fmt::format("{}", d);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::vector<std::string> split_list(std::string_view value) {
  std::vector<std::string> items;
  std::string all = trim(value);
  if (all.empty()) return items;
  size_t start = 0;
  while (true) {
    size_t comma = all.find(',', start);
    items.push_back(trim(std::string_view(all).substr(start, comma == std::string::npos ? std::string::npos
                                                                                         : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

}  // namespace

std::string_view to_string(TopicConfigType type) {
  switch (type) {
    case T::kBoolean: return "BOOLEAN";
    case T::kString: return "STRING";
    case T::kInt: return "INT";
    case T::kShort: return "SHORT";
    case T::kLong: return "LONG";
    case T::kDouble: return "DOUBLE";
    case T::kList: return "LIST";
  }
  return "UNKNOWN";
}

std::span<const TopicConfigDef> topic_config_defs() { return kDefs; }

const TopicConfigDef* find_topic_config(std::string_view name) {
  auto it = std::lower_bound(std::begin(kDefs), std::end(kDefs), name,
                             [](const TopicConfigDef& d, std::string_view n) { return d.name < n; });
  return it != std::end(kDefs) && it->name == name ? &*it : nullptr;
}

ParsedValue parse_topic_config_value(const TopicConfigDef& def, std::string_view raw) {
  std::string v = trim(raw);
  auto fail = [&](std::string_view reason) { return ParsedValue{std::nullopt, invalid(v, def.name, reason)}; };
  std::string normal;
  switch (def.type) {
    case T::kBoolean: {
      std::string lower = v;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      if (lower != "true" && lower != "false") return fail("Expected value to be either true or false");
      normal = lower;
      break;
    }
    case T::kShort:
    case T::kInt:
    case T::kLong: {
      int64_t n = 0;
      auto [end, ec] = std::from_chars(v.data() + (!v.empty() && v[0] == '+'), v.data() + v.size(), n);
      bool narrow = def.type != T::kLong && (n > kIntMax || n < -kIntMax - 1);
      if (v.empty() || ec != std::errc() || end != v.data() + v.size() || narrow)
        return fail(fmt::format("Not a number of type {}", to_string(def.type)));
      if (def.min && n < *def.min) return fail(fmt::format("Value must be at least {}", *def.min));
      if (def.max && n > *def.max) return fail(fmt::format("Value must be no more than {}", *def.max));
      normal = std::to_string(n);
      break;
    }
    case T::kDouble: {
      char* end = nullptr;
      double d = v.empty() ? NAN : std::strtod(v.c_str(), &end);
      if (v.empty() || end != v.c_str() + v.size() || std::isnan(d)) return fail("Not a number of type DOUBLE");
      if (def.min_double && d < *def.min_double)
        return fail(fmt::format("Value must be at least {}", java_double(*def.min_double)));
      if (def.max_double && d > *def.max_double)
        return fail(fmt::format("Value must be no more than {}", java_double(*def.max_double)));
      normal = java_double(d);
      break;
    }
    case T::kString:
      if (!def.allowed.empty() && !is_allowed(def, v)) return fail(one_of(def.allowed));
      normal = v;
      break;
    case T::kList: {
      std::vector<std::string> items = split_list(v);
      if (!def.allowed.empty())
        for (const auto& item : items)
          if (!is_allowed(def, item))
            return ParsedValue{std::nullopt, invalid(item, def.name, one_of(def.allowed))};
      normal = fmt::format("{}", fmt::join(items, ","));
      break;
    }
  }
  if (def.check)
    if (auto reason = def.check(normal)) return fail(*reason);
  return ParsedValue{std::move(normal), {}};
}

ConfigMap static_broker_layer(const BrokerConfig& config) {
  ConfigMap out;
  for (const std::string& key : config.raw().keys())
    if (auto v = config.raw().get(key)) out[key] = std::string(*v);
  return out;
}

BrokerConfigLayers broker_config_layers(const MetadataImage& image, int32_t node_id, const BrokerConfig& config) {
  BrokerConfigLayers layers;
  if (const ConfigMap* m = image.config(ConfigResourceType::kBroker, std::to_string(node_id))) layers.dynamic_broker = *m;
  if (const ConfigMap* m = image.config(ConfigResourceType::kBroker, "")) layers.dynamic_default = *m;
  layers.static_broker = static_broker_layer(config);
  return layers;
}

std::optional<std::string> validate_topic_configs(const ConfigMap& overrides, const BrokerConfigLayers& broker) {
  for (const auto& [name, value] : overrides) {
    const TopicConfigDef* def = find_topic_config(name);
    if (def == nullptr) return "Unknown topic config name: " + name;
    ParsedValue parsed = parse_topic_config_value(*def, value);
    if (!parsed.value) return parsed.error;
  }
  auto effective = [&](std::string_view key) {
    auto entry = describe_topic_config(key, overrides, broker);
    return entry && entry->value ? *entry->value : std::string();
  };
  int64_t min_lag = std::strtoll(effective("min.compaction.lag.ms").c_str(), nullptr, 10);
  int64_t max_lag = std::strtoll(effective("max.compaction.lag.ms").c_str(), nullptr, 10);
  if (min_lag > max_lag)
    return fmt::format("conflict topic config setting min.compaction.lag.ms ({}) > max.compaction.lag.ms ({})",
                       min_lag, max_lag);
  if (effective("remote.storage.enable") == "true")
    return "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log "
           "storage.";
  return std::nullopt;
}

}  // namespace samsa::broker
