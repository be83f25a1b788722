#pragma once
// The config a running log uses: Kafka's rule "topic overrides on top of the
// broker's current log defaults", where the defaults come from the dynamic
// per-broker config, then the dynamic cluster default, then server.properties,
// then Kafka's default (BrokerConfigLayers). The same derivation serves new
// logs, logs loaded at start-up and every later config change, so what
// DescribeConfigs reports is what the logs do.
//
// Pure functions; no threading concerns.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "samsa/broker/metadata_image.h"
#include "samsa/broker/topic_config.h"
#include "samsa/log/log_config.h"

namespace samsa::broker {

struct EffectiveTopicConfig {
  log::LogConfig log;
  int32_t min_insync_replicas = 1;  // min.insync.replicas (checked by Produce acks=all)
  bool operator==(const EffectiveTopicConfig&) const = default;
};

EffectiveTopicConfig effective_topic_config(const ConfigMap& topic_overrides, const BrokerConfigLayers& broker);

// A broker key's value in force on this broker: dynamic per-broker, else
// dynamic cluster default, else static, else the key's default (nullopt for
// a null default or a key Samsa does not know).
std::optional<std::string> effective_broker_value(const BrokerConfigLayers& broker, std::string_view key);

// True for broker keys whose dynamic value reaches the running logs through
// effective_topic_config (the topic-default keys Samsa's logs implement, and
// producer.id.expiration.ms).
bool applied_by_logs(std::string_view broker_key);

// For a key applied_by_logs, checks `value` with the rules of the topic key
// it supplies (e.g. log.cleaner.min.cleanable.ratio as a DOUBLE in [0, 1]),
// so a stored default always parses for the logs. Returns Kafka's "Invalid
// value ..." message naming the broker key, or nullopt.
std::optional<std::string> check_log_default_value(std::string_view broker_key, std::string_view value);

}  // namespace samsa::broker
