// Builds BrokerConfig from properties: typed values from the key table, then
// the derived values Kafka computes (retention, listeners, inter-broker
// listener, ...). Cross-key checks live in broker_config_validate.cc.
#include "samsa/broker/broker_config.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "config_internal.h"

namespace samsa::broker {

namespace {

using detail::ConfigReader;

constexpr std::int64_t kMsPerMinute = 60 * 1000;
constexpr std::int64_t kMsPerHour = 60 * kMsPerMinute;

void read_identity(BrokerConfig& c, const ConfigReader& r) {
  for (const std::string& role : r.get_list("process.roles")) {
    ProcessRole parsed = role == "broker" ? ProcessRole::Broker : ProcessRole::Controller;
    if (c.has_role(parsed)) r.fail("process.roles", fmt::format("role '{}' is listed more than once", role));
    c.process_roles.push_back(parsed);
  }
  if (c.process_roles.empty()) {
    r.fail("process.roles", "must be broker, controller or broker,controller (Samsa runs in KRaft mode only)");
  }

  // broker.id is Kafka's older name for the same id; either may be given.
  const bool node_set = r.is_set("node.id");
  const bool broker_set = r.is_set("broker.id");
  c.node_id = node_set ? r.get_int("node.id") : broker_set ? r.get_int("broker.id") : -1;
  if (node_set && broker_set && r.get_int("broker.id") != c.node_id) {
    r.fail("node.id", fmt::format("must equal broker.id ({}, {}) when both are set", r.get_int("broker.id"),
                                  r.origin_text("broker.id")));
  }
  if (!node_set && !broker_set) {
    throw ConfigError("Missing required configuration node.id: every KRaft node needs a non-negative id");
  }
  if (c.node_id < 0) r.fail(node_set ? "node.id" : "broker.id", "must be a non-negative node id");

  c.controller_quorum_voters = detail::parse_voters(r, r.get_list("controller.quorum.voters"));
  c.controller_quorum_bootstrap_servers =
      detail::parse_bootstrap_servers(r, r.get_list("controller.quorum.bootstrap.servers"));
  if (auto names = r.get_string("controller.listener.names")) {
    for (const std::string& name : detail::split_list(*names)) {
      if (!name.empty()) c.controller_listener_names.push_back(name);
    }
  }
  c.controller_quorum_election_timeout_ms = r.get_int("controller.quorum.election.timeout.ms");
  c.controller_quorum_fetch_timeout_ms = r.get_int("controller.quorum.fetch.timeout.ms");
  c.controller_quorum_election_backoff_max_ms = r.get_int("controller.quorum.election.backoff.max.ms");
  c.controller_quorum_request_timeout_ms = r.get_int("controller.quorum.request.timeout.ms");
  c.controller_quorum_retry_backoff_ms = r.get_int("controller.quorum.retry.backoff.ms");
  c.controller_quorum_append_linger_ms = r.get_int("controller.quorum.append.linger.ms");
  c.broker_heartbeat_interval_ms = r.get_int("broker.heartbeat.interval.ms");
  c.broker_session_timeout_ms = r.get_int("broker.session.timeout.ms");
  c.initial_broker_registration_timeout_ms = r.get_int("initial.broker.registration.timeout.ms");
  c.metadata_log_segment_bytes = r.get_int("metadata.log.segment.bytes");
  c.metadata_log_segment_ms = r.get_long("metadata.log.segment.ms");
  c.metadata_max_bytes_between_snapshots = r.get_long("metadata.log.max.record.bytes.between.snapshots");
  c.metadata_max_retention_bytes = r.get_long("metadata.max.retention.bytes");
  c.metadata_max_retention_ms = r.get_long("metadata.max.retention.ms");
  c.broker_rack = r.get_string("broker.rack");
}

bool is_ssl_or_sasl(std::string_view name) { return name == "SSL" || name == "SASL_SSL" || name == "SASL_PLAINTEXT"; }

void read_listeners(BrokerConfig& c, const ConfigReader& r) {
  constexpr std::string_view kMapKey = "listener.security.protocol.map";
  auto& map = c.listener_security_protocol_map;
  map = detail::parse_protocol_map(r, kMapKey, r.get_string(kMapKey).value_or(""));
  const std::string listeners_value = r.get_string("listeners").value_or("");

  // Kafka (KRaft): with the default map, controller listeners are PLAINTEXT
  // unless some listener or controller name suggests TLS/SASL is in use.
  if (!r.is_set(kMapKey)) {
    std::vector<std::string> names = detail::listener_names_in(listeners_value);
    bool secure = std::any_of(names.begin(), names.end(), is_ssl_or_sasl) ||
                  std::any_of(c.controller_listener_names.begin(), c.controller_listener_names.end(),
                              [](const std::string& n) { return is_ssl_or_sasl(n); });
    if (!secure) {
      for (const std::string& name : c.controller_listener_names) {
        if (name != "PLAINTEXT") map.insert_or_assign(name, "PLAINTEXT");
      }
    }
  }

  c.listeners = detail::parse_listeners(r, "listeners", listeners_value, map, true);
  std::vector<Listener> advertised = c.listeners;
  if (auto value = r.get_string("advertised.listeners")) {
    advertised = detail::parse_listeners(r, "advertised.listeners", *value, map, false);
  }
  auto is_controller_name = [&](const std::string& name) {
    return std::find(c.controller_listener_names.begin(), c.controller_listener_names.end(), name) !=
           c.controller_listener_names.end();
  };
  for (const Listener& l : advertised) {
    if (!is_controller_name(l.name)) c.advertised_listeners.push_back(l);
  }
  for (const std::string& name : c.controller_listener_names) {
    auto named = [&](const Listener& l) { return l.name == detail::to_upper(name); };
    if (auto it = std::find_if(advertised.begin(), advertised.end(), named); it != advertised.end()) {
      c.advertised_controller_listeners.push_back(*it);
    } else if (auto it2 = std::find_if(c.listeners.begin(), c.listeners.end(), named); it2 != c.listeners.end()) {
      c.advertised_controller_listeners.push_back(*it2);
    }
  }

  if (auto name = r.get_string("inter.broker.listener.name")) {
    if (r.is_set("security.inter.broker.protocol")) {
      r.fail("inter.broker.listener.name",
             fmt::format("only one of inter.broker.listener.name and security.inter.broker.protocol may be set "
                         "(security.inter.broker.protocol is set in {})",
                         r.origin_text("security.inter.broker.protocol")));
    }
    c.inter_broker_listener_name = detail::to_upper(*name);
    auto it = map.find(c.inter_broker_listener_name);
    if (it == map.end()) {
      r.fail("inter.broker.listener.name", "this listener has no entry in listener.security.protocol.map");
    }
    c.inter_broker_security_protocol = it->second;
  } else {
    c.inter_broker_security_protocol = *r.get_string("security.inter.broker.protocol");
    c.inter_broker_listener_name = c.inter_broker_security_protocol;
  }

  c.num_network_threads = r.get_int("num.network.threads");
  c.num_io_threads = r.get_int("num.io.threads");
  c.socket_send_buffer_bytes = r.get_int("socket.send.buffer.bytes");
  c.socket_receive_buffer_bytes = r.get_int("socket.receive.buffer.bytes");
  c.socket_request_max_bytes = r.get_int("socket.request.max.bytes");
  c.queued_max_requests = r.get_int("queued.max.requests");
  c.connections_max_idle_ms = r.get_long("connections.max.idle.ms");
  c.queued_max_request_bytes = r.get_long("queued.max.request.bytes");
  c.max_connections = r.get_int("max.connections");
  c.max_connections_per_ip = r.get_int("max.connections.per.ip");
  c.max_connections_per_ip_overrides = r.get_string("max.connections.per.ip.overrides").value_or("");
}

void read_logs(BrokerConfig& c, const ConfigReader& r) {
  // log.dirs wins over log.dir; both are comma-separated lists.
  const bool use_dirs = r.raw("log.dirs").has_value();
  for (const std::string& dir : detail::split_list(*r.get_string(use_dirs ? "log.dirs" : "log.dir"))) {
    if (!dir.empty()) c.log_dirs.push_back(dir);
  }
  c.metadata_log_dir = r.get_string("metadata.log.dir").value_or(c.log_dirs.empty() ? "" : c.log_dirs.front());

  c.num_partitions = r.get_int("num.partitions");
  c.default_replication_factor = r.get_int("default.replication.factor");
  c.auto_create_topics_enable = r.get_bool("auto.create.topics.enable");
  c.delete_topic_enable = r.get_bool("delete.topic.enable");
  c.log_segment_bytes = r.get_int("log.segment.bytes");
  c.log_roll_ms = r.get_optional_long("log.roll.ms").value_or(kMsPerHour * r.get_int("log.roll.hours"));

  // Precedence as in Kafka: ms, then minutes, then hours; negative = unlimited.
  std::int64_t retention = 0;
  if (auto ms = r.get_optional_long("log.retention.ms")) {
    retention = *ms;
  } else if (auto minutes = r.get_optional_int("log.retention.minutes")) {
    retention = kMsPerMinute * *minutes;
  } else {
    retention = kMsPerHour * r.get_int("log.retention.hours");
  }
  c.log_retention_ms = retention < 0 ? -1 : retention;

  c.log_retention_bytes = r.get_long("log.retention.bytes");
  c.log_retention_check_interval_ms = r.get_long("log.retention.check.interval.ms");
  c.log_index_interval_bytes = r.get_int("log.index.interval.bytes");
  c.log_index_size_max_bytes = r.get_int("log.index.size.max.bytes");
  c.log_flush_interval_messages = r.get_long("log.flush.interval.messages");
  c.log_flush_scheduler_interval_ms = r.get_long("log.flush.scheduler.interval.ms");
  c.log_flush_interval_ms = r.get_optional_long("log.flush.interval.ms").value_or(c.log_flush_scheduler_interval_ms);
  c.log_cleanup_policy = r.get_list("log.cleanup.policy");
  c.log_preallocate = r.get_bool("log.preallocate");
  c.log_cleaner_enable = r.get_bool("log.cleaner.enable");
  c.log_cleaner_threads = r.get_int("log.cleaner.threads");
  c.log_cleaner_backoff_ms = r.get_long("log.cleaner.backoff.ms");
  c.log_cleaner_dedupe_buffer_size = r.get_long("log.cleaner.dedupe.buffer.size");
  {
    const std::string ratio = *r.get_string("log.cleaner.min.cleanable.ratio");
    char* end = nullptr;
    c.log_cleaner_min_cleanable_ratio = std::strtod(ratio.c_str(), &end);
    if (ratio.empty() || end != ratio.c_str() + ratio.size() || !(c.log_cleaner_min_cleanable_ratio >= 0.0) ||
        c.log_cleaner_min_cleanable_ratio > 1.0)
      r.fail("log.cleaner.min.cleanable.ratio", ratio, "must be a number between 0.0 and 1.0");
  }
  c.log_cleaner_delete_retention_ms = r.get_long("log.cleaner.delete.retention.ms");
  c.log_cleaner_min_compaction_lag_ms = r.get_long("log.cleaner.min.compaction.lag.ms");
  c.log_cleaner_max_compaction_lag_ms = r.get_long("log.cleaner.max.compaction.lag.ms");
  c.num_recovery_threads_per_data_dir = r.get_int("num.recovery.threads.per.data.dir");
  c.message_max_bytes = r.get_int("message.max.bytes");
  c.compression_type = *r.get_string("compression.type");
  c.log_message_timestamp_type = *r.get_string("log.message.timestamp.type");
  c.log_message_timestamp_before_max_ms = r.get_long("log.message.timestamp.before.max.ms");
  c.log_message_timestamp_after_max_ms = r.get_long("log.message.timestamp.after.max.ms");
  c.min_insync_replicas = r.get_int("min.insync.replicas");
  c.producer_id_expiration_ms = r.get_int("producer.id.expiration.ms");
  c.producer_id_expiration_check_interval_ms = r.get_int("producer.id.expiration.check.interval.ms");
  c.unclean_leader_election_enable = r.get_bool("unclean.leader.election.enable");
}

void read_replication_and_groups(BrokerConfig& c, const ConfigReader& r) {
  c.replica_fetch_max_bytes = r.get_int("replica.fetch.max.bytes");
  c.replica_fetch_wait_max_ms = r.get_int("replica.fetch.wait.max.ms");
  c.replica_fetch_min_bytes = r.get_int("replica.fetch.min.bytes");
  c.replica_socket_timeout_ms = r.get_int("replica.socket.timeout.ms");
  c.replica_lag_time_max_ms = r.get_long("replica.lag.time.max.ms");
  c.num_replica_fetchers = r.get_int("num.replica.fetchers");
  c.replica_fetch_backoff_ms = r.get_int("replica.fetch.backoff.ms");
  c.replica_fetch_response_max_bytes = r.get_int("replica.fetch.response.max.bytes");
  c.fetch_max_bytes = r.get_int("fetch.max.bytes");
  c.auto_leader_rebalance_enable = r.get_bool("auto.leader.rebalance.enable");
  c.leader_imbalance_check_interval_seconds = r.get_long("leader.imbalance.check.interval.seconds");
  c.leader_imbalance_per_broker_percentage = r.get_int("leader.imbalance.per.broker.percentage");
  c.replica_selector_class = r.get_string("replica.selector.class");

  c.replica_high_watermark_checkpoint_interval_ms = r.get_long("replica.high.watermark.checkpoint.interval.ms");

  c.offsets_topic_num_partitions = r.get_int("offsets.topic.num.partitions");
  c.offsets_topic_replication_factor = r.get_short("offsets.topic.replication.factor");
  c.offsets_topic_segment_bytes = r.get_int("offsets.topic.segment.bytes");
  c.offsets_retention_minutes = r.get_int("offsets.retention.minutes");
  c.offsets_retention_check_interval_ms = r.get_long("offsets.retention.check.interval.ms");
  c.offsets_topic_compression_codec = r.get_int("offsets.topic.compression.codec");
  c.offsets_load_buffer_size = r.get_int("offsets.load.buffer.size");
  c.offsets_commit_timeout_ms = r.get_int("offsets.commit.timeout.ms");
  c.group_initial_rebalance_delay_ms = r.get_int("group.initial.rebalance.delay.ms");
  c.group_min_session_timeout_ms = r.get_int("group.min.session.timeout.ms");
  c.group_max_session_timeout_ms = r.get_int("group.max.session.timeout.ms");
  c.group_max_size = r.get_int("group.max.size");
  c.offset_metadata_max_bytes = r.get_int("offset.metadata.max.bytes");

  c.transaction_state_log_num_partitions = r.get_int("transaction.state.log.num.partitions");
  c.transaction_state_log_replication_factor = r.get_short("transaction.state.log.replication.factor");
  c.transaction_state_log_min_isr = r.get_int("transaction.state.log.min.isr");
  c.transaction_state_log_segment_bytes = r.get_int("transaction.state.log.segment.bytes");
  c.transaction_state_log_load_buffer_size = r.get_int("transaction.state.log.load.buffer.size");
  c.transaction_max_timeout_ms = r.get_int("transaction.max.timeout.ms");
  c.transactional_id_expiration_ms = r.get_int("transactional.id.expiration.ms");
  c.transaction_abort_timed_out_transaction_cleanup_interval_ms =
      r.get_int("transaction.abort.timed.out.transaction.cleanup.interval.ms");
  c.transaction_remove_expired_transaction_cleanup_interval_ms =
      r.get_int("transaction.remove.expired.transaction.cleanup.interval.ms");

  // Transactions, partition side (txnlog).
  c.transaction_partition_verification_enable = r.get_bool("transaction.partition.verification.enable");
  c.request_timeout_ms = r.get_int("request.timeout.ms");
}

void read_samsa(BrokerConfig& c, const ConfigReader& r) {
  const std::string transfer = *r.get_string("samsa.fetch.transfer");
  c.fetch_transfer = transfer == "pread"      ? FetchTransfer::Pread
                     : transfer == "sendfile" ? FetchTransfer::Sendfile
                     : transfer == "io_uring" ? FetchTransfer::IoUring
                                              : FetchTransfer::Auto;
  c.log_level = *r.get_string("samsa.log.level");
  std::transform(c.log_level.begin(), c.log_level.end(), c.log_level.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
}

}  // namespace

std::optional<std::string> process_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

BrokerConfig BrokerConfig::from_properties(Properties props, const EnvLookup& env) {
  BrokerConfig c;
  c.raw_ = std::move(props);
  ConfigReader r(c.raw_);
  if (env) {
    if (auto level = env(std::string(detail::kLogLevelEnv).c_str()); level && !level->empty()) {
      r.set_env("samsa.log.level", *level, fmt::format("environment variable {}", detail::kLogLevelEnv));
      c.env_log_level_ = *level;
    }
  }
  for (const std::string& key : c.raw_.keys()) {
    if (find_config_key(key) == nullptr) c.ignored_keys_.push_back(key);
  }
  // Check every known key's type and range first, so a bad value is reported
  // even when the key only matters in a branch we would not reach.
  for (const ConfigKey& key : config_keys()) r.check(key);

  read_identity(c, r);
  read_listeners(c, r);
  read_logs(c, r);
  read_replication_and_groups(c, r);
  read_samsa(c, r);
  detail::validate_broker_config(c, r);
  return c;
}

std::vector<std::string> BrokerConfig::unsupported_keys() const {
  std::vector<std::string> out;
  for (const std::string& key : raw_.keys())
    if (const ConfigKey* def = find_config_key(key); def != nullptr && def->unsupported) out.push_back(key);
  return out;
}

bool BrokerConfig::has_role(ProcessRole role) const {
  return std::find(process_roles.begin(), process_roles.end(), role) != process_roles.end();
}

std::vector<ConfigEntry> BrokerConfig::describe() const {
  std::vector<ConfigEntry> out;
  for (const ConfigKey& key : config_keys()) out.push_back(*describe(key.name));
  return out;
}

std::optional<ConfigEntry> BrokerConfig::describe(std::string_view name) const {
  const ConfigKey* key = find_config_key(name);
  if (key == nullptr) return std::nullopt;
  ConfigEntry e;
  e.name = std::string(key->name);
  e.type = key->type;
  if (key->dynamic_default) {
    e.default_value = key->dynamic_default();
  } else if (key->default_value) {
    e.default_value = std::string(key->default_value);
  }
  auto normalise = [&](std::string_view v) {
    return key->type == ConfigType::List ? detail::join(detail::split_list(v), ",") : detail::trim(v);
  };
  if (key->name == "samsa.log.level" && env_log_level_) {
    e.value = normalise(*env_log_level_);
    e.is_explicit = true;
    e.source = ConfigSource::Environment;
    e.origin = PropertyOrigin{fmt::format("environment variable {}", detail::kLogLevelEnv), 0};
  } else if (auto v = raw_.get(key->name)) {
    e.value = normalise(*v);
    e.is_explicit = true;
    e.source = ConfigSource::StaticBroker;
    e.origin = *raw_.origin(key->name);
  } else {
    e.value = e.default_value;
  }
  return e;
}

}  // namespace samsa::broker
