// Typed broker configuration built from a Kafka `server.properties`.
//
// Key names, types, defaults and validation rules follow Apache Kafka 4.0 so
// that an existing Kafka configuration file works unchanged. Every known key
// is described once in a ConfigKey table (config_keys()); the typed fields of
// BrokerConfig are filled from that table, and describe() reports each key's
// default, current value and source for DescribeConfigs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "samsa/broker/properties.h"

namespace samsa::broker {

enum class ProcessRole { Broker, Controller };

// How fetch responses move record bytes from segment files to sockets.
enum class FetchTransfer { Auto, Pread, Sendfile, IoUring };

struct Listener {
  std::string name;               // upper case, as Kafka normalises it
  std::string host;               // empty = all interfaces; IPv6 without brackets
  std::uint16_t port = 0;
  std::string security_protocol;  // PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
};

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

struct QuorumVoter {
  std::int32_t id = 0;
  std::string host;
  std::uint16_t port = 0;
};

// ConfigDef types, named as Kafka's DescribeConfigs reports them.
enum class ConfigType { Boolean, String, Int, Short, Long, List };
std::string_view to_string(ConfigType type);

// One known configuration key: the single place where its default lives.
struct ConfigKey {
  std::string_view name;
  ConfigType type = ConfigType::String;
  const char* default_value = nullptr;  // nullptr = Kafka's null default
  std::optional<std::int64_t> min;      // numeric lower bound (inclusive)
  std::optional<std::int64_t> max;      // numeric upper bound (inclusive)
  std::span<const std::string_view> allowed;  // allowed strings / list items
  bool ignore_case = false;                   // for `allowed`
  // Samsa-specific default that replaces default_value when set (it may
  // depend on the machine, e.g. the number of CPUs).
  std::string (*dynamic_default)() = nullptr;
  // Parsed and validated as Kafka does (so a Kafka server.properties keeps
  // working) but Samsa does not act on it: logged at start when set, left out
  // of DescribeConfigs and refused by AlterConfigs.
  bool unsupported = false;
};

// The known keys, in documentation order.
std::span<const ConfigKey> config_keys();
const ConfigKey* find_config_key(std::string_view name);

// True for broker keys Apache Kafka defines (including families such as
// ssl.* or listener.name.*), whether or not Samsa acts on them, so callers can
// word the "ignored" log line for a known Kafka key differently from a typo.
bool is_known_kafka_key(std::string_view name);

enum class ConfigSource {
  Default,       // nobody set it
  StaticBroker,  // server.properties or --override (Kafka's STATIC_BROKER_CONFIG)
  Environment,   // a SAMSA_* environment variable
};

struct ConfigEntry {
  std::string name;
  ConfigType type;
  std::optional<std::string> default_value;
  std::optional<std::string> value;  // current value; nullopt = null
  bool is_explicit = false;          // set in the file, by --override or env
  ConfigSource source = ConfigSource::Default;
  std::optional<PropertyOrigin> origin;  // where an explicit value came from
};

// Looks up an environment variable; injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
std::optional<std::string> process_env(const char* name);

struct BrokerConfig {
  // --- KRaft identity and quorum ---
  std::vector<ProcessRole> process_roles;
  std::int32_t node_id = -1;
  std::vector<QuorumVoter> controller_quorum_voters;
  std::vector<HostPort> controller_quorum_bootstrap_servers;
  std::int32_t controller_quorum_election_timeout_ms = 0;
  std::int32_t controller_quorum_fetch_timeout_ms = 0;
  std::int32_t controller_quorum_election_backoff_max_ms = 0;
  std::int32_t controller_quorum_request_timeout_ms = 0;
  std::int32_t controller_quorum_retry_backoff_ms = 0;
  std::int32_t controller_quorum_append_linger_ms = 0;
  std::int32_t broker_heartbeat_interval_ms = 0;
  std::int32_t broker_session_timeout_ms = 0;
  std::int32_t initial_broker_registration_timeout_ms = 0;
  std::string metadata_log_dir;  // metadata.log.dir, else the first log dir
  std::int32_t metadata_log_segment_bytes = 0;
  std::int64_t metadata_log_segment_ms = 0;
  std::int64_t metadata_max_bytes_between_snapshots = 0;  // metadata.log.max.record.bytes.between.snapshots
  std::int64_t metadata_max_retention_bytes = 0;
  std::int64_t metadata_max_retention_ms = 0;
  std::optional<std::string> broker_rack;

  // --- Listeners ---
  std::vector<Listener> listeners;
  // Broker listeners advertised to clients: advertised.listeners (or
  // listeners when unset) without the controller listeners.
  std::vector<Listener> advertised_listeners;
  // Controller listeners as advertised (advertised.listeners entry if any,
  // else the listeners entry), in controller.listener.names order.
  std::vector<Listener> advertised_controller_listeners;
  std::map<std::string, std::string> listener_security_protocol_map;  // effective map
  std::vector<std::string> controller_listener_names;
  std::string inter_broker_listener_name;
  std::string inter_broker_security_protocol;

  // --- Socket server ---
  // Kafka defaults num.network.threads to 3; Samsa defaults it to the number
  // of hardware threads because its network threads also do the record I/O.
  std::int32_t num_network_threads = 0;
  std::int32_t num_io_threads = 0;
  std::int32_t socket_send_buffer_bytes = 0;     // -1 = OS default
  std::int32_t socket_receive_buffer_bytes = 0;  // -1 = OS default
  std::int32_t socket_request_max_bytes = 0;
  std::int32_t queued_max_requests = 0;
  std::int64_t connections_max_idle_ms = 0;
  std::int64_t queued_max_request_bytes = -1;  // <= 0: unbounded (Kafka's -1)
  std::int32_t max_connections = 2147483647;
  std::int32_t max_connections_per_ip = 2147483647;
  std::string max_connections_per_ip_overrides;  // "host:count,host:count"

  // --- Logs ---
  std::vector<std::string> log_dirs;
  std::int32_t num_partitions = 0;
  std::int32_t default_replication_factor = 0;
  bool auto_create_topics_enable = true;
  bool delete_topic_enable = true;
  std::int32_t log_segment_bytes = 0;
  std::int64_t log_roll_ms = 0;       // log.roll.ms, else log.roll.hours
  std::int64_t log_retention_ms = 0;  // ms > minutes > hours; -1 = unlimited
  std::int64_t log_retention_bytes = 0;
  std::int64_t log_retention_check_interval_ms = 0;
  std::int32_t log_index_interval_bytes = 0;
  std::int32_t log_index_size_max_bytes = 0;
  std::int64_t log_flush_interval_messages = 0;
  std::int64_t log_flush_interval_ms = 0;  // log.flush.interval.ms, else scheduler interval
  std::int64_t log_flush_scheduler_interval_ms = 0;
  std::vector<std::string> log_cleanup_policy;
  bool log_preallocate = false;
  bool log_cleaner_enable = true;                        // log.cleaner.enable
  std::int32_t log_cleaner_threads = 1;                  // log.cleaner.threads (0 or 1 used)
  std::int64_t log_cleaner_backoff_ms = 0;
  std::int64_t log_cleaner_dedupe_buffer_size = 0;
  double log_cleaner_min_cleanable_ratio = 0.5;
  std::int64_t log_cleaner_delete_retention_ms = 0;
  std::int64_t log_cleaner_min_compaction_lag_ms = 0;
  std::int64_t log_cleaner_max_compaction_lag_ms = 0;
  std::int32_t num_recovery_threads_per_data_dir = 0;
  std::int32_t message_max_bytes = 0;
  std::string compression_type;
  std::string log_message_timestamp_type;
  std::int64_t log_message_timestamp_before_max_ms = 0;
  std::int64_t log_message_timestamp_after_max_ms = 0;
  std::int32_t min_insync_replicas = 0;
  std::int32_t producer_id_expiration_ms = 0;
  std::int32_t producer_id_expiration_check_interval_ms = 0;
  bool unclean_leader_election_enable = false;

  // --- Replication and fetch ---
  std::int32_t replica_fetch_max_bytes = 0;
  std::int32_t replica_fetch_wait_max_ms = 0;
  std::int32_t replica_fetch_min_bytes = 0;
  std::int32_t replica_socket_timeout_ms = 0;
  std::int64_t replica_lag_time_max_ms = 0;
  std::int32_t num_replica_fetchers = 0;
  std::int32_t replica_fetch_backoff_ms = 0;
  std::int32_t replica_fetch_response_max_bytes = 0;
  std::int32_t fetch_max_bytes = 0;

  std::int64_t replica_high_watermark_checkpoint_interval_ms = 0;  // replication-offset-checkpoint period
  // --- Leadership ---
  bool auto_leader_rebalance_enable = true;
  std::int64_t leader_imbalance_check_interval_seconds = 0;
  std::int32_t leader_imbalance_per_broker_percentage = 0;
  std::optional<std::string> replica_selector_class;  // KIP-392; null: consumers read from the leader

  // --- Group coordinator and internal topics ---
  std::int32_t offsets_topic_num_partitions = 0;
  std::int16_t offsets_topic_replication_factor = 0;
  std::int32_t offsets_topic_segment_bytes = 0;
  std::int32_t offsets_retention_minutes = 0;
  std::int64_t offsets_retention_check_interval_ms = 0;
  std::int32_t offsets_topic_compression_codec = 0;  // record batch codec id (0 none .. 4 zstd)
  std::int32_t offsets_load_buffer_size = 0;
  std::int32_t offsets_commit_timeout_ms = 0;
  std::int32_t group_initial_rebalance_delay_ms = 0;
  std::int32_t group_min_session_timeout_ms = 0;
  std::int32_t group_max_session_timeout_ms = 0;
  std::int32_t group_max_size = 0;
  std::int32_t offset_metadata_max_bytes = 0;

  // --- Transaction coordinator and __transaction_state ---
  std::int32_t transaction_state_log_num_partitions = 0;
  std::int16_t transaction_state_log_replication_factor = 0;
  std::int32_t transaction_state_log_min_isr = 0;
  std::int32_t transaction_state_log_segment_bytes = 0;
  std::int32_t transaction_state_log_load_buffer_size = 0;
  std::int32_t transaction_max_timeout_ms = 0;
  std::int32_t transactional_id_expiration_ms = 0;
  std::int32_t transaction_abort_timed_out_transaction_cleanup_interval_ms = 0;
  std::int32_t transaction_remove_expired_transaction_cleanup_interval_ms = 0;

  // --- Transactions, partition side (issue 12, txnlog) ---
  // KIP-890 part 1: a partition leader asks the coordinator before a write
  // opens a transaction on it.
  bool transaction_partition_verification_enable = true;
  // request.timeout.ms: how long the broker's own requests to other brokers
  // (markers, verification) wait for an answer, and how long a
  // WriteTxnMarkers append waits for the ISR.
  std::int32_t request_timeout_ms = 30000;

  // --- Samsa's own keys ---
  FetchTransfer fetch_transfer = FetchTransfer::Auto;  // samsa.fetch.transfer
  std::string log_level;  // samsa.log.level; SAMSA_LOG_LEVEL wins over it

  // Builds and validates the configuration. Throws ConfigError (one line,
  // naming key, value and origin) on the first problem found.
  static BrokerConfig from_properties(Properties props, const EnvLookup& env = process_env);

  bool has_role(ProcessRole role) const;
  bool is_broker() const { return has_role(ProcessRole::Broker); }
  bool is_controller() const { return has_role(ProcessRole::Controller); }

  // The file/override properties this configuration was built from.
  const Properties& raw() const { return raw_; }
  // Keys present in the properties that are not in config_keys(), in file
  // order. They are never an error; the caller logs them once.
  const std::vector<std::string>& ignored_keys() const { return ignored_keys_; }
  // Keys set in the properties whose ConfigKey is `unsupported`, in file order.
  std::vector<std::string> unsupported_keys() const;

  // DescribeConfigs view of every known key, in config_keys() order.
  std::vector<ConfigEntry> describe() const;
  std::optional<ConfigEntry> describe(std::string_view name) const;

 private:
  Properties raw_;
  std::vector<std::string> ignored_keys_;
  std::optional<std::string> env_log_level_;
};

}  // namespace samsa::broker
