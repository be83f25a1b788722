#include "samsa/broker/broker_config.h"

#include <limits>
#include <thread>

#include <gtest/gtest.h>

namespace samsa::broker {
namespace {

constexpr std::int64_t kLongMax = std::numeric_limits<std::int64_t>::max();

// The smallest valid combined-mode configuration; everything else defaults.
const std::string kMinimal =
    "process.roles=broker,controller\n"
    "node.id=1\n"
    "controller.quorum.voters=1@localhost:9093\n"
    "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\n"
    "controller.listener.names=CONTROLLER\n";

std::optional<std::string> no_env(const char*) { return std::nullopt; }

BrokerConfig build(const std::string& text) {
  return BrokerConfig::from_properties(Properties::parse(text, "server.properties"), no_env);
}

// Builds `text` and expects a ConfigError whose one-line message contains
// every fragment (key, value, origin, ...).
void expect_error(const std::string& text, std::vector<std::string> fragments) {
  try {
    build(text);
    ADD_FAILURE() << "expected ConfigError for:\n" << text;
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const std::string& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
  }
}

TEST(BrokerConfigTest, Defaults) {
  BrokerConfig c = build(kMinimal);
  EXPECT_TRUE(c.is_broker());
  EXPECT_TRUE(c.is_controller());
  EXPECT_EQ(c.node_id, 1);
  ASSERT_EQ(c.controller_quorum_voters.size(), 1u);
  EXPECT_EQ(c.controller_quorum_voters[0].id, 1);
  EXPECT_EQ(c.controller_quorum_voters[0].host, "localhost");
  EXPECT_EQ(c.controller_quorum_voters[0].port, 9093);
  EXPECT_TRUE(c.controller_quorum_bootstrap_servers.empty());
  EXPECT_EQ(c.controller_quorum_election_timeout_ms, 1000);
  EXPECT_EQ(c.controller_quorum_fetch_timeout_ms, 2000);
  EXPECT_EQ(c.controller_quorum_election_backoff_max_ms, 1000);
  EXPECT_EQ(c.controller_quorum_request_timeout_ms, 2000);
  EXPECT_EQ(c.controller_quorum_retry_backoff_ms, 20);
  EXPECT_EQ(c.controller_quorum_append_linger_ms, 25);
  EXPECT_EQ(c.broker_heartbeat_interval_ms, 2000);
  EXPECT_EQ(c.broker_session_timeout_ms, 9000);
  EXPECT_EQ(c.initial_broker_registration_timeout_ms, 60000);
  EXPECT_EQ(c.metadata_log_dir, "/tmp/kafka-logs");
  EXPECT_EQ(c.metadata_log_segment_bytes, 1073741824);
  EXPECT_EQ(c.metadata_log_segment_ms, 604800000);
  EXPECT_EQ(c.metadata_max_retention_bytes, 104857600);
  EXPECT_EQ(c.metadata_max_retention_ms, 604800000);
  EXPECT_FALSE(c.broker_rack.has_value());

  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].name, "PLAINTEXT");
  EXPECT_EQ(c.listeners[0].host, "");
  EXPECT_EQ(c.listeners[0].port, 9092);
  EXPECT_EQ(c.listeners[0].security_protocol, "PLAINTEXT");
  EXPECT_EQ(c.listeners[1].security_protocol, "PLAINTEXT");  // implicit KRaft mapping
  ASSERT_EQ(c.advertised_listeners.size(), 1u);              // controller listener removed
  EXPECT_EQ(c.advertised_listeners[0].name, "PLAINTEXT");
  ASSERT_EQ(c.advertised_controller_listeners.size(), 1u);
  EXPECT_EQ(c.advertised_controller_listeners[0].port, 9093);
  EXPECT_EQ(c.listener_security_protocol_map.at("SASL_SSL"), "SASL_SSL");
  EXPECT_EQ(c.listener_security_protocol_map.at("CONTROLLER"), "PLAINTEXT");
  EXPECT_EQ(c.listener_security_protocol_map.size(), 5u);
  EXPECT_EQ(c.controller_listener_names, std::vector<std::string>{"CONTROLLER"});
  EXPECT_EQ(c.inter_broker_listener_name, "PLAINTEXT");
  EXPECT_EQ(c.inter_broker_security_protocol, "PLAINTEXT");

  unsigned hw = std::thread::hardware_concurrency();
  EXPECT_EQ(c.num_network_threads, static_cast<std::int32_t>(hw == 0 ? 1 : hw));
  EXPECT_EQ(c.num_io_threads, 8);
  EXPECT_EQ(c.socket_send_buffer_bytes, 102400);
  EXPECT_EQ(c.socket_receive_buffer_bytes, 102400);
  EXPECT_EQ(c.socket_request_max_bytes, 104857600);
  EXPECT_EQ(c.queued_max_requests, 500);
  EXPECT_EQ(c.connections_max_idle_ms, 600000);

  EXPECT_EQ(c.log_dirs, std::vector<std::string>{"/tmp/kafka-logs"});
  EXPECT_EQ(c.num_partitions, 1);
  EXPECT_EQ(c.default_replication_factor, 1);
  EXPECT_TRUE(c.auto_create_topics_enable);
  EXPECT_TRUE(c.delete_topic_enable);
  EXPECT_EQ(c.log_segment_bytes, 1073741824);
  EXPECT_EQ(c.log_roll_ms, 168LL * 3600 * 1000);
  EXPECT_EQ(c.log_retention_ms, 168LL * 3600 * 1000);
  EXPECT_EQ(c.log_retention_bytes, -1);
  EXPECT_EQ(c.log_retention_check_interval_ms, 300000);
  EXPECT_EQ(c.log_index_interval_bytes, 4096);
  EXPECT_EQ(c.log_index_size_max_bytes, 10485760);
  EXPECT_EQ(c.log_flush_interval_messages, kLongMax);
  EXPECT_EQ(c.log_flush_scheduler_interval_ms, kLongMax);
  EXPECT_EQ(c.log_flush_interval_ms, kLongMax);
  EXPECT_EQ(c.log_cleanup_policy, std::vector<std::string>{"delete"});
  EXPECT_FALSE(c.log_preallocate);
  EXPECT_EQ(c.num_recovery_threads_per_data_dir, 2);
  EXPECT_EQ(c.message_max_bytes, 1048588);
  EXPECT_EQ(c.compression_type, "producer");
  EXPECT_EQ(c.log_message_timestamp_type, "CreateTime");
  EXPECT_EQ(c.log_message_timestamp_before_max_ms, kLongMax);
  EXPECT_EQ(c.log_message_timestamp_after_max_ms, 3600000);
  EXPECT_EQ(c.min_insync_replicas, 1);
  EXPECT_FALSE(c.unclean_leader_election_enable);

  EXPECT_EQ(c.replica_fetch_max_bytes, 1048576);
  EXPECT_EQ(c.replica_fetch_wait_max_ms, 500);
  EXPECT_EQ(c.replica_fetch_min_bytes, 1);
  EXPECT_EQ(c.replica_socket_timeout_ms, 30000);
  EXPECT_EQ(c.replica_lag_time_max_ms, 30000);
  EXPECT_EQ(c.fetch_max_bytes, 57671680);

  EXPECT_EQ(c.offsets_topic_num_partitions, 50);
  EXPECT_EQ(c.offsets_topic_replication_factor, 3);
  EXPECT_EQ(c.offsets_topic_segment_bytes, 104857600);
  EXPECT_EQ(c.offsets_retention_minutes, 10080);
  EXPECT_EQ(c.offsets_retention_check_interval_ms, 600000);
  EXPECT_EQ(c.transaction_state_log_num_partitions, 50);
  EXPECT_EQ(c.transaction_state_log_replication_factor, 3);
  EXPECT_EQ(c.transaction_state_log_min_isr, 2);
  EXPECT_EQ(c.group_initial_rebalance_delay_ms, 3000);
  EXPECT_EQ(c.group_min_session_timeout_ms, 6000);
  EXPECT_EQ(c.group_max_session_timeout_ms, 1800000);
  EXPECT_EQ(c.group_max_size, std::numeric_limits<std::int32_t>::max());

  EXPECT_EQ(c.fetch_transfer, FetchTransfer::Auto);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_TRUE(c.ignored_keys().empty());
}

TEST(BrokerConfigTest, InitialBrokerRegistrationTimeoutIsRead) {
  BrokerConfig c = build(kMinimal + "initial.broker.registration.timeout.ms=1500\n");
  EXPECT_EQ(c.initial_broker_registration_timeout_ms, 1500);
  EXPECT_TRUE(std::find(c.ignored_keys().begin(), c.ignored_keys().end(), "initial.broker.registration.timeout.ms") ==
              c.ignored_keys().end());
}

TEST(BrokerConfigTest, DescribeReportsDefaultsAndExplicitValues) {
  BrokerConfig c = build(kMinimal + "num.partitions = 3 \nlog.cleanup.policy=compact , delete\n");
  auto entries = c.describe();
  EXPECT_EQ(entries.size(), config_keys().size());

  auto np = c.describe("num.partitions");
  ASSERT_TRUE(np);
  EXPECT_EQ(np->type, ConfigType::Int);
  EXPECT_EQ(np->default_value, "1");
  EXPECT_EQ(np->value, "3");
  EXPECT_TRUE(np->is_explicit);
  EXPECT_EQ(np->source, ConfigSource::StaticBroker);
  ASSERT_TRUE(np->origin);
  EXPECT_EQ(np->origin->line, 6);

  auto policy = c.describe("log.cleanup.policy");
  EXPECT_EQ(policy->value, "compact,delete");

  auto retention = c.describe("log.retention.ms");
  EXPECT_FALSE(retention->default_value.has_value());  // Kafka's null default
  EXPECT_FALSE(retention->value.has_value());
  EXPECT_FALSE(retention->is_explicit);
  EXPECT_EQ(retention->source, ConfigSource::Default);

  auto map = c.describe("listener.security.protocol.map");
  EXPECT_EQ(map->default_value, "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT");
  EXPECT_FALSE(c.describe("no.such.key").has_value());
}

TEST(BrokerConfigTest, EveryTableDefaultIsValidForItsType) {
  // from_properties checks every key; a bad default would throw here.
  EXPECT_NO_THROW(build(kMinimal));
  for (const ConfigKey& key : config_keys()) {
    EXPECT_TRUE(key.name.find(' ') == std::string_view::npos) << key.name;
    EXPECT_EQ(find_config_key(key.name), &key);
  }
}

TEST(BrokerConfigTest, ShippedServerPropertiesIsValid) {
  auto props = Properties::load_file(SAMSA_SOURCE_DIR "/config/server.properties");
  BrokerConfig c = BrokerConfig::from_properties(std::move(props), no_env);
  EXPECT_TRUE(c.is_broker() && c.is_controller());
  EXPECT_EQ(c.node_id, 1);
  EXPECT_EQ(c.log_dirs, std::vector<std::string>{"/tmp/samsa-combined-logs"});
  EXPECT_EQ(c.metadata_log_dir, "/tmp/samsa-combined-logs");
  ASSERT_EQ(c.advertised_listeners.size(), 1u);
  EXPECT_EQ(c.advertised_listeners[0].host, "localhost");
  EXPECT_EQ(c.advertised_listeners[0].port, 9092);
  ASSERT_EQ(c.advertised_controller_listeners.size(), 1u);
  EXPECT_EQ(c.advertised_controller_listeners[0].name, "CONTROLLER");
  EXPECT_EQ(c.offsets_topic_replication_factor, 1);
  EXPECT_EQ(c.transaction_state_log_replication_factor, 1);
  EXPECT_EQ(c.transaction_state_log_min_isr, 1);
  EXPECT_EQ(c.log_retention_ms, 168LL * 3600 * 1000);
  EXPECT_TRUE(c.ignored_keys().empty());
}

TEST(BrokerConfigTest, RetentionPrecedence) {
  EXPECT_EQ(build(kMinimal + "log.retention.hours=1\n").log_retention_ms, 3600000);
  EXPECT_EQ(build(kMinimal + "log.retention.hours=1\nlog.retention.minutes=2\n").log_retention_ms, 120000);
  EXPECT_EQ(build(kMinimal + "log.retention.minutes=2\nlog.retention.ms=5\n").log_retention_ms, 5);
  EXPECT_EQ(build(kMinimal + "log.retention.ms=-1\n").log_retention_ms, -1);
  EXPECT_EQ(build(kMinimal + "log.retention.hours=-5\n").log_retention_ms, -1);
  EXPECT_EQ(build(kMinimal + "log.roll.hours=2\n").log_roll_ms, 7200000);
  EXPECT_EQ(build(kMinimal + "log.roll.hours=2\nlog.roll.ms=10\n").log_roll_ms, 10);
  EXPECT_EQ(build(kMinimal + "log.flush.scheduler.interval.ms=7\n").log_flush_interval_ms, 7);
  EXPECT_EQ(build(kMinimal + "log.flush.interval.ms=9\n").log_flush_interval_ms, 9);
}

TEST(BrokerConfigTest, LogDirs) {
  BrokerConfig c = build(kMinimal + "log.dir=/a\nlog.dirs=/b, /c\n");
  EXPECT_EQ(c.log_dirs, (std::vector<std::string>{"/b", "/c"}));
  EXPECT_EQ(c.metadata_log_dir, "/b");
  EXPECT_EQ(build(kMinimal + "log.dir=/a\n").log_dirs, std::vector<std::string>{"/a"});
  EXPECT_EQ(build(kMinimal + "metadata.log.dir=/m\n").metadata_log_dir, "/m");
}

TEST(BrokerConfigTest, ListenerParsing) {
  BrokerConfig c = build(
      "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@[::1]:9093\n"
      "listeners=plaintext://[::1]:9092, CONTROLLER://127.0.0.1:9093,INTERNAL://host-1.example:0\n"
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,internal:ssl\n"
      "controller.listener.names=CONTROLLER\n");
  ASSERT_EQ(c.listeners.size(), 3u);
  EXPECT_EQ(c.listeners[0].name, "PLAINTEXT");
  EXPECT_EQ(c.listeners[0].host, "::1");
  EXPECT_EQ(c.listeners[1].host, "127.0.0.1");
  EXPECT_EQ(c.listeners[2].name, "INTERNAL");
  EXPECT_EQ(c.listeners[2].security_protocol, "SSL");
  EXPECT_EQ(c.listeners[2].port, 0);
  EXPECT_EQ(c.controller_quorum_voters[0].host, "::1");
}

TEST(BrokerConfigTest, SamePortAllowedForOneIpv4AndOneIpv6Listener) {
  EXPECT_NO_THROW(build(kMinimal + "listeners=PLAINTEXT://127.0.0.1:9092,OTHER://[::1]:9092,CONTROLLER://:9093\n"
                                   "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,OTHER:PLAINTEXT,"
                                   "CONTROLLER:PLAINTEXT\n"));
}

TEST(BrokerConfigTest, InterBrokerListenerName) {
  BrokerConfig c = build(kMinimal +
                         "listeners=INTERNAL://:9092,CONTROLLER://:9093\n"
                         "listener.security.protocol.map=INTERNAL:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT\n"
                         "inter.broker.listener.name=internal\n");
  EXPECT_EQ(c.inter_broker_listener_name, "INTERNAL");
  EXPECT_EQ(c.inter_broker_security_protocol, "SASL_PLAINTEXT");
}

TEST(BrokerConfigTest, BrokerOnlyAndControllerOnly) {
  BrokerConfig broker = build(
      "process.roles=broker\nnode.id=4\ncontroller.quorum.bootstrap.servers=c1:9093,[::1]:9093\n"
      "controller.listener.names=CONTROLLER\n");
  EXPECT_FALSE(broker.is_controller());
  ASSERT_EQ(broker.controller_quorum_bootstrap_servers.size(), 2u);
  EXPECT_EQ(broker.controller_quorum_bootstrap_servers[1].host, "::1");
  EXPECT_EQ(broker.listeners.size(), 1u);  // listeners default PLAINTEXT://:9092

  BrokerConfig controller = build(
      "process.roles=controller\nnode.id=2\ncontroller.quorum.voters=1@a:9093,2@b:9093,3@c:9093\n"
      "listeners=CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER\n");
  EXPECT_FALSE(controller.is_broker());
  EXPECT_EQ(controller.controller_quorum_voters.size(), 3u);
}

TEST(BrokerConfigTest, BrokerIdIsASynonymForNodeId) {
  std::string text =
      "process.roles=broker,controller\nbroker.id=1\ncontroller.quorum.voters=1@localhost:9093\n"
      "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER\n";
  EXPECT_EQ(build(text).node_id, 1);
  expect_error(text + "node.id=2\n", {"node.id", "'2'", "line 6", "broker.id"});
}

TEST(BrokerConfigTest, UnknownKeysAreIgnoredNotFatal) {
  BrokerConfig c = build(kMinimal + "ssl.keystore.location=/x\nnum.partitons=3\nzookeeper.connect=zk:2181\n");
  EXPECT_EQ(c.ignored_keys(),
            (std::vector<std::string>{"ssl.keystore.location", "num.partitons", "zookeeper.connect"}));
  EXPECT_TRUE(is_known_kafka_key("ssl.keystore.location"));
  EXPECT_TRUE(is_known_kafka_key("zookeeper.connect"));
  EXPECT_TRUE(is_known_kafka_key("auto.leader.rebalance.enable"));
  EXPECT_TRUE(is_known_kafka_key("num.partitions"));
  EXPECT_FALSE(is_known_kafka_key("num.partitons"));
  EXPECT_FALSE(is_known_kafka_key("samsa.log.level"));
}

TEST(BrokerConfigTest, SamsaKeysAndEnvironment) {
  BrokerConfig c = build(kMinimal + "samsa.fetch.transfer=io_uring\nsamsa.log.level=DEBUG\n");
  EXPECT_EQ(c.fetch_transfer, FetchTransfer::IoUring);
  EXPECT_EQ(c.log_level, "debug");

  auto env = [](const char* name) -> std::optional<std::string> {
    if (std::string_view(name) == "SAMSA_LOG_LEVEL") return "trace";
    return std::nullopt;
  };
  BrokerConfig e = BrokerConfig::from_properties(Properties::parse(kMinimal + "samsa.log.level=warn\n", "f"), env);
  EXPECT_EQ(e.log_level, "trace");
  auto entry = e.describe("samsa.log.level");
  EXPECT_EQ(entry->source, ConfigSource::Environment);
  EXPECT_EQ(entry->value, "trace");

  auto bad_env = [](const char*) -> std::optional<std::string> { return "loud"; };
  try {
    BrokerConfig::from_properties(Properties::parse(kMinimal, "f"), bad_env);
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ConfigError& err) {
    EXPECT_NE(std::string(err.what()).find("SAMSA_LOG_LEVEL"), std::string::npos) << err.what();
  }
  expect_error(kMinimal + "samsa.fetch.transfer=mmap\n", {"samsa.fetch.transfer", "'mmap'", "line 6"});
}

// Each case: extra lines appended to kMinimal (so they start at line 6, and
// later lines override earlier keys) and fragments the error must contain.
struct ErrorCase {
  std::string extra;
  std::vector<std::string> fragments;
};

TEST(BrokerConfigTest, ValidationErrorsNameKeyValueAndOrigin) {
  const std::vector<ErrorCase> cases = {
      {"num.partitions=abc\n", {"num.partitions", "'abc'", "server.properties line 6", "not a number"}},
      {"num.partitions=0\n", {"num.partitions", "'0'", "line 6", "at least 1"}},
      {"num.partitions=99999999999\n", {"num.partitions", "not a number of type INT"}},
      {"offsets.topic.replication.factor=40000\n", {"offsets.topic.replication.factor", "SHORT"}},
      {"log.segment.bytes=1000\n", {"log.segment.bytes", "'1000'", "at least 1048576"}},
      {"message.max.bytes=-1\n", {"message.max.bytes", "'-1'", "at least 0"}},
      {"metadata.log.segment.bytes=1048576\n", {"metadata.log.segment.bytes", "at least 8388608"}},
      {"fetch.max.bytes=10\n", {"fetch.max.bytes", "at least 1024"}},
      {"auto.create.topics.enable=yes\n", {"auto.create.topics.enable", "'yes'", "true or false"}},
      {"compression.type=brotli\n", {"compression.type", "'brotli'", "one of"}},
      {"compression.type=GZIP\n", {"compression.type", "'GZIP'"}},
      {"log.message.timestamp.type=Bogus\n", {"log.message.timestamp.type", "'Bogus'"}},
      {"log.cleanup.policy=delete,shrink\n", {"log.cleanup.policy", "'shrink'"}},
      {"process.roles=broker,router\n", {"process.roles", "'broker,router'", "'router'", "line 6"}},
      {"process.roles=broker,broker\n", {"process.roles", "more than once"}},
      {"process.roles=\n", {"process.roles", "KRaft"}},
      {"node.id=-3\n", {"node.id", "'-3'", "line 6", "non-negative"}},
      {"node.id=2\n", {"node.id", "'2'", "line 6", "voters", "server.properties line 3"}},
      {"controller.quorum.voters=\n", {"controller.quorum.voters", "controller.quorum.bootstrap.servers"}},
      {"controller.quorum.voters=1@localhost\n", {"controller.quorum.voters", "'1@localhost'", "id@host:port"}},
      {"controller.quorum.voters=x@localhost:9093\n", {"controller.quorum.voters", "numeric node id"}},
      {"controller.quorum.voters=1@0.0.0.0:9093\n", {"controller.quorum.voters", "routable"}},
      {"controller.quorum.voters=1@localhost:70000\n", {"controller.quorum.voters", "70000"}},
      {"controller.quorum.bootstrap.servers=nohost\n", {"controller.quorum.bootstrap.servers", "host:port"}},
      {"listeners=PLAINTEXT:/:9092,CONTROLLER://:9093\n", {"listeners", "PLAINTEXT:/:9092", "line 6"}},
      {"listeners=PLAINTEXT://:port,CONTROLLER://:9093\n", {"listeners", "NAME://host:port"}},
      {"listeners=PLAINTEXT://:99999,CONTROLLER://:9093\n", {"listeners", "99999"}},
      {"listeners=FOO://:9092,CONTROLLER://:9093\n", {"listeners", "FOO", "listener.security.protocol.map"}},
      {"listeners=PLAINTEXT://:9092,PLAINTEXT://:9094,CONTROLLER://:9093\n", {"listeners", "more than once"}},
      {"listeners=PLAINTEXT://:9092,CONTROLLER://:9092\n", {"listeners", "port 9092"}},
      {"listeners=PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.2:9092,CONTROLLER://:9093\n", {"listeners", "9092"}},
      {"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:TLS\n",
       {"listener.security.protocol.map", "'TLS'", "line 6"}},
      {"listener.security.protocol.map=PLAINTEXT\n", {"listener.security.protocol.map", "LISTENER_NAME:PROTOCOL"}},
      // An explicit map must map the controller listener itself.
      {"listener.security.protocol.map=PLAINTEXT:PLAINTEXT\n", {"listeners", "CONTROLLER"}},
      {"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\ncontroller.listener.names=OTHER\n",
       {"controller.listener.names", "'OTHER'", "line 7", "at least one"}},
      {"controller.listener.names=CONTROLLER,OTHER\n", {"controller.listener.names", "OTHER is not one of"}},
      {"inter.broker.listener.name=CONTROLLER\n", {"inter.broker.listener.name", "'CONTROLLER'", "advertised"}},
      {"inter.broker.listener.name=NOPE\n", {"inter.broker.listener.name", "'NOPE'", "listener.security"}},
      {"inter.broker.listener.name=PLAINTEXT\nsecurity.inter.broker.protocol=PLAINTEXT\n",
       {"inter.broker.listener.name", "only one of", "line 7"}},
      {"security.inter.broker.protocol=SSL\n", {"security.inter.broker.protocol", "'SSL'", "advertised"}},
      {"security.inter.broker.protocol=TLS\n", {"security.inter.broker.protocol", "'TLS'", "one of"}},
      {"advertised.listeners=PLAINTEXT://0.0.0.0:9092\n", {"advertised.listeners", "0.0.0.0"}},
      {"advertised.listeners=OTHER://h:9092\nlistener.security.protocol.map=OTHER:PLAINTEXT,PLAINTEXT:PLAINTEXT,"
       "CONTROLLER:PLAINTEXT\ninter.broker.listener.name=OTHER\n",
       {"advertised.listeners", "OTHER is not defined in listeners"}},
      {"advertised.listeners=CONTROLLER://h:9093\n", {"advertised.listeners", "at least one broker listener"}},
      {"log.dirs=\n", {"log.dirs", "at least one log directory"}},
      {"log.dirs=/a,/b,/a\n", {"log.dirs", "/a is listed twice"}},
      {"log.retention.ms=0\n", {"log.retention.ms", "'0'", "-1"}},
      {"log.retention.minutes=0\n", {"log.retention.minutes", "'0'"}},
      {"log.roll.ms=0\n", {"log.roll.ms", "at least 1"}},
      {"log.roll.hours=0\n", {"log.roll.hours", "at least 1"}},
      {"replica.fetch.wait.max.ms=40000\n", {"replica.fetch.wait.max.ms", "'40000'", "replica.socket.timeout.ms"}},
      {"replica.lag.time.max.ms=100\n", {"replica.fetch.wait.max.ms", "replica.lag.time.max.ms"}},
      {"control.plane.listener.name=PLAINTEXT\n", {"control.plane.listener.name", "KRaft"}},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.extra);
    expect_error(kMinimal + c.extra, c.fragments);
  }
}

TEST(BrokerConfigTest, RoleSpecificErrors) {
  // No node.id at all.
  expect_error("process.roles=broker\ncontroller.quorum.voters=1@h:9093\ncontroller.listener.names=CONTROLLER\n",
               {"node.id", "Missing"});
  // A broker-only node must not be a voter.
  expect_error("process.roles=broker\nnode.id=1\ncontroller.quorum.voters=1@h:9093\n"
               "controller.listener.names=CONTROLLER\n",
               {"node.id", "'1'", "line 2", "only the broker role"});
  // A broker-only node needs controller.listener.names.
  expect_error("process.roles=broker\nnode.id=2\ncontroller.quorum.voters=1@h:9093\n",
               {"controller.listener.names", "broker role"});
  // ... and must not listen on it.
  expect_error("process.roles=broker\nnode.id=2\ncontroller.quorum.voters=1@h:9093\n"
               "controller.listener.names=CONTROLLER\nlisteners=PLAINTEXT://:9092,CONTROLLER://:9093\n",
               {"listeners", "CONTROLLER", "line 5"});
  // A controller-only node may only have controller listeners.
  expect_error("process.roles=controller\nnode.id=1\ncontroller.quorum.voters=1@h:9093\n"
               "controller.listener.names=CONTROLLER\nlisteners=PLAINTEXT://:9092,CONTROLLER://:9093\n",
               {"listeners", "PLAINTEXT", "line 5"});
  // The controller listener must be among the listeners.
  expect_error("process.roles=controller\nnode.id=1\ncontroller.quorum.voters=1@h:9093\n"
               "controller.listener.names=CONTROLLER\nlisteners=PLAINTEXT://:9092\n",
               {"listeners"});
}

TEST(BrokerConfigTest, OverridesAreReportedAsSuch) {
  auto props = Properties::parse(kMinimal, "server.properties");
  props.apply_override("num.io.threads=0");
  try {
    BrokerConfig::from_properties(std::move(props), no_env);
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("num.io.threads"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--override"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace samsa::broker
