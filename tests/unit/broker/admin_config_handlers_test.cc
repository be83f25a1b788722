// DescribeConfigs, AlterConfigs and IncrementalAlterConfigs through the
// dispatcher, at every advertised version.
#include "admin_test_fixture.h"
#include "samsa/broker/dynamic_broker_config.h"
#include "samsa/protocol/gen/alter_configs_request.h"
#include "samsa/protocol/gen/alter_configs_response.h"
#include "samsa/protocol/gen/create_topics_request.h"
#include "samsa/protocol/gen/create_topics_response.h"
#include "samsa/protocol/gen/describe_configs_request.h"
#include "samsa/protocol/gen/describe_configs_response.h"
#include "samsa/protocol/gen/incremental_alter_configs_request.h"
#include "samsa/protocol/gen/incremental_alter_configs_response.h"

namespace samsa::broker::test {
namespace {

using protocol::ErrorCode;
namespace p = protocol;
using Entry = p::DescribeConfigsResponse::DescribeConfigsResult::DescribeConfigsResourceResult;

constexpr int8_t kTopic = 2;
constexpr int8_t kBroker = 4;
constexpr int8_t kBrokerLogger = 8;

class ConfigHandlersTest : public AdminTest {
 protected:
  ConfigHandlersTest() {
    p::CreateTopicsRequest req;
    p::CreateTopicsRequest::CreatableTopic t;
    t.name = "orders";
    t.num_partitions = 1;
    t.replication_factor = 1;
    t.configs.push_back({"retention.ms", "5000", {}});
    req.topics.push_back(t);
    auto resp = call<p::CreateTopicsResponse>(19, 7, req);
    EXPECT_EQ(resp.topics.at(0).error_code, 0);
  }

  p::DescribeConfigsResponse::DescribeConfigsResult describe(
      int8_t type, const std::string& name, int16_t v = 4, bool synonyms = false,
      std::optional<std::vector<std::string>> keys = std::nullopt) {
    p::DescribeConfigsRequest req;
    p::DescribeConfigsRequest::DescribeConfigsResource r;
    r.resource_type = type;
    r.resource_name = name;
    r.configuration_keys = std::move(keys);
    req.resources.push_back(r);
    req.include_synonyms = synonyms;
    auto resp = call<p::DescribeConfigsResponse>(32, v, req);
    EXPECT_EQ(resp.results.size(), 1u);
    return resp.results.empty() ? p::DescribeConfigsResponse::DescribeConfigsResult{} : resp.results[0];
  }

  static const Entry* find(const p::DescribeConfigsResponse::DescribeConfigsResult& r, const std::string& name) {
    for (const auto& e : r.configs)
      if (e.name == name) return &e;
    return nullptr;
  }

  int16_t incremental(int8_t type, const std::string& name, const std::string& key, int8_t op,
                      std::optional<std::string> value, int16_t v = 1, bool validate_only = false) {
    p::IncrementalAlterConfigsRequest req;
    p::IncrementalAlterConfigsRequest::AlterConfigsResource r;
    r.resource_type = type;
    r.resource_name = name;
    r.configs.push_back({key, op, std::move(value), {}});
    req.resources.push_back(r);
    req.validate_only = validate_only;
    auto resp = call<p::IncrementalAlterConfigsResponse>(44, v, req);
    EXPECT_EQ(resp.responses.size(), 1u);
    if (resp.responses.empty()) return -999;
    EXPECT_EQ(resp.responses[0].resource_name, name);
    return resp.responses[0].error_code;
  }
};

TEST_F(ConfigHandlersTest, DescribeTopicConfigsAtEveryVersion) {
  for (int16_t v = 1; v <= 4; ++v) {
    auto r = describe(kTopic, "orders", v, true);
    EXPECT_EQ(r.error_code, 0);
    const Entry* retention = find(r, "retention.ms");
    ASSERT_NE(retention, nullptr) << "v" << v;
    EXPECT_EQ(retention->value, std::optional<std::string>("5000"));
    EXPECT_EQ(retention->config_source, 1);  // DYNAMIC_TOPIC_CONFIG
    EXPECT_FALSE(retention->read_only);
    // The topic override; the broker's log.retention.hours is not listed,
    // as Kafka drops synonyms before log.retention.ms itself.
    ASSERT_EQ(retention->synonyms.size(), 1u);
    EXPECT_EQ(retention->synonyms[0].source, 1);
    const Entry* bytes = find(r, "retention.bytes");
    ASSERT_NE(bytes, nullptr);
    EXPECT_EQ(bytes->config_source, 5);  // DEFAULT_CONFIG
    if (v >= 3) {
      EXPECT_EQ(retention->config_type, 5);                  // LONG
      EXPECT_EQ(find(r, "cleanup.policy")->config_type, 7);  // LIST
    }
    auto no_syn = describe(kTopic, "orders", v, false);
    EXPECT_TRUE(find(no_syn, "retention.ms")->synonyms.empty());
  }
  auto filtered = describe(kTopic, "orders", 4, false, std::vector<std::string>{"retention.ms", "no.such"});
  ASSERT_EQ(filtered.configs.size(), 1u);
  EXPECT_EQ(filtered.configs[0].name, "retention.ms");
  EXPECT_EQ(describe(kTopic, "missing").error_code, code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  EXPECT_EQ(describe(kTopic, "bad name").error_code, code(ErrorCode::INVALID_TOPIC_EXCEPTION));
}

TEST_F(ConfigHandlersTest, DescribeBrokerConfigs) {
  for (int16_t v = 1; v <= 4; ++v) {
    auto r = describe(kBroker, "1", v, true);
    EXPECT_EQ(r.error_code, 0);
    const Entry* parts = find(r, "num.partitions");
    ASSERT_NE(parts, nullptr);
    EXPECT_EQ(parts->value, std::optional<std::string>("2"));
    EXPECT_EQ(parts->config_source, 4);  // STATIC_BROKER_CONFIG
    EXPECT_TRUE(parts->read_only);
    const Entry* hours = find(r, "log.retention.hours");
    ASSERT_NE(hours, nullptr);
    EXPECT_EQ(hours->value, std::optional<std::string>("72"));
    EXPECT_EQ(hours->config_source, 4);
    const Entry* ms = find(r, "log.retention.ms");
    ASSERT_NE(ms, nullptr);
    EXPECT_FALSE(ms->read_only) << "a dynamic broker config";
    // Kafka drops the synonyms listed before the key's own name: the static
    // log.retention.hours does not make log.retention.ms static.
    EXPECT_EQ(ms->config_source, 5);
    EXPECT_EQ(ms->value, std::nullopt);
    if (v >= 3) { EXPECT_EQ(parts->config_type, 3); }  // INT
    const Entry* rf = find(r, "default.replication.factor");
    ASSERT_NE(rf, nullptr);
    EXPECT_EQ(rf->config_source, 5);
  }
  EXPECT_EQ(describe(kBroker, "2").error_code, code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(describe(kBroker, "x").error_code, code(ErrorCode::INVALID_REQUEST));
  EXPECT_TRUE(describe(kBroker, "").configs.empty()) << "no cluster-wide dynamic defaults yet";
  auto logger = describe(kBrokerLogger, "1");
  EXPECT_EQ(logger.error_code, 0);
  ASSERT_EQ(logger.configs.size(), 1u);
  EXPECT_EQ(logger.configs[0].name, "root");
  EXPECT_EQ(describe(kBrokerLogger, "3").error_code, code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(describe(16, "x").error_code, code(ErrorCode::INVALID_REQUEST));
}

TEST_F(ConfigHandlersTest, IncrementalAlterTopicAndBrokerConfigs) {
  for (int16_t v = 0; v <= 1; ++v) {
    std::string value = std::to_string(1000 + v);
    EXPECT_EQ(incremental(kTopic, "orders", "retention.ms", 0, value, v), 0);
    EXPECT_EQ(image()->config(ConfigResourceType::kTopic, "orders")->at("retention.ms"), value);
  }
  EXPECT_EQ(incremental(kTopic, "orders", "retention.ms", 1, std::nullopt), 0);  // DELETE
  EXPECT_EQ(find(describe(kTopic, "orders"), "retention.ms")->config_source, 5);
  EXPECT_EQ(incremental(kTopic, "orders", "cleanup.policy", 2, "compact"), 0);  // APPEND
  EXPECT_EQ(find(describe(kTopic, "orders"), "cleanup.policy")->value, std::optional<std::string>("delete,compact"));
  EXPECT_EQ(incremental(kTopic, "orders", "retention.ms", 0, "abc"), code(ErrorCode::INVALID_CONFIG));
  EXPECT_EQ(incremental(kTopic, "orders", "retention.ms", 0, std::nullopt), code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(incremental(kTopic, "missing", "retention.ms", 0, "1"), code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  EXPECT_EQ(incremental(kTopic, "orders", "retention.ms", 0, "7", 1, true), 0);
  EXPECT_EQ(image()->config(ConfigResourceType::kTopic, "orders")->count("retention.ms"), 0u) << "validate_only";

  EXPECT_EQ(incremental(kBroker, "1", "log.retention.ms", 0, "60000"), 0);
  auto broker = describe(kBroker, "1", 4, true);
  const Entry* ms = find(broker, "log.retention.ms");
  ASSERT_NE(ms, nullptr);
  EXPECT_EQ(ms->value, std::optional<std::string>("60000"));
  EXPECT_EQ(ms->config_source, 2);  // DYNAMIC_BROKER_CONFIG
  EXPECT_EQ(ms->synonyms.at(0).source, 2);
  EXPECT_EQ(find(describe(kTopic, "orders"), "retention.ms")->value, std::optional<std::string>("60000"));

  EXPECT_EQ(incremental(kBroker, "", "log.retention.bytes", 0, "1000"), 0);
  auto defaults = describe(kBroker, "", 4, true);
  ASSERT_EQ(defaults.configs.size(), 1u);
  EXPECT_EQ(defaults.configs[0].config_source, 3);  // DYNAMIC_DEFAULT_BROKER_CONFIG
  EXPECT_EQ(find(describe(kBroker, "1"), "log.retention.bytes")->config_source, 3);

  EXPECT_EQ(incremental(kBrokerLogger, "1", "root", 0, "DEBUG"), 0);
  EXPECT_EQ(describe(kBrokerLogger, "1").configs.at(0).value, std::optional<std::string>("DEBUG"));
  EXPECT_EQ(incremental(kBrokerLogger, "1", "root", 0, "LOUD"), code(ErrorCode::INVALID_CONFIG));
  EXPECT_EQ(incremental(kBrokerLogger, "1", "kafka.server", 0, "INFO"), code(ErrorCode::INVALID_CONFIG));
  EXPECT_EQ(incremental(kBrokerLogger, "2", "root", 0, "INFO"), code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(incremental(kBrokerLogger, "1", "root", 0, "INFO"), 0);
}

TEST_F(ConfigHandlersTest, BrokerResourcesFollowKafkasDynamicConfigRules) {
  // Checked on the broker before forwarding, as Kafka's ConfigAdminManager does.
  EXPECT_EQ(incremental(kBroker, "2", "log.retention.ms", 0, "1"), code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(incremental(kBroker, "one", "log.retention.ms", 0, "1"), code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(incremental(kBroker, "1", "num.partitions", 0, "3"), code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(incremental(kBroker, "", "listeners", 0, "PLAINTEXT://:9092"), code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(incremental(kBroker, "1", "log.retention.bytes", 0, "lots"), code(ErrorCode::INVALID_REQUEST))
      << "KAFKA-13609: broker value errors are INVALID_REQUEST";
  EXPECT_EQ(incremental(kBroker, "1", "custom.key", 0, "x"), 0) << "unknown keys are custom configs";
  EXPECT_EQ(incremental(kBroker, "1", "num.partitions", 1, std::nullopt), 0) << "deleting is always allowed";
  EXPECT_EQ(incremental(kTopic, "orders", "retention.ms", 9, "1"), code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(incremental(16, "metrics", "x", 0, "1"), code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(image()->config(ConfigResourceType::kBroker, "1")->count("num.partitions"), 0u);
}

TEST_F(ConfigHandlersTest, DynamicLogDefaultsReachRunningLogs) {
  auto log_config = [&] { return services.replicas->get("orders", 0)->log()->config(); };
  ASSERT_NE(services.replicas->get("orders", 0), nullptr);
  EXPECT_EQ(log_config().segment_bytes, 1073741824);
  EXPECT_EQ(log_config().retention_ms, 5000) << "the topic override";

  // Cluster default, then per-broker over it, then the topic override over both.
  EXPECT_EQ(incremental(kBroker, "", "log.segment.bytes", 0, "2097152"), 0);
  EXPECT_EQ(log_config().segment_bytes, 2097152);
  EXPECT_EQ(incremental(kBroker, "1", "log.segment.bytes", 0, "3145728"), 0);
  EXPECT_EQ(log_config().segment_bytes, 3145728);
  EXPECT_EQ(incremental(kTopic, "orders", "segment.bytes", 0, "4194304"), 0);
  EXPECT_EQ(log_config().segment_bytes, 4194304);
  EXPECT_EQ(incremental(kTopic, "orders", "segment.bytes", 1, std::nullopt), 0);
  EXPECT_EQ(log_config().segment_bytes, 3145728);
  EXPECT_EQ(incremental(kBroker, "1", "log.segment.bytes", 1, std::nullopt), 0);
  EXPECT_EQ(log_config().segment_bytes, 2097152);
  EXPECT_EQ(incremental(kBroker, "", "log.segment.bytes", 1, std::nullopt), 0);
  EXPECT_EQ(log_config().segment_bytes, 1073741824) << "back to the static value";

  // The static log.retention.hours=72 is beaten by a dynamic log.retention.ms
  // only where the topic has no retention.ms of its own.
  EXPECT_EQ(incremental(kBroker, "", "log.retention.ms", 0, "60000"), 0);
  EXPECT_EQ(log_config().retention_ms, 5000);
  EXPECT_EQ(incremental(kTopic, "orders", "retention.ms", 1, std::nullopt), 0);
  EXPECT_EQ(log_config().retention_ms, 60000);
  EXPECT_EQ(incremental(kBroker, "", "log.retention.ms", 1, std::nullopt), 0);
  EXPECT_EQ(log_config().retention_ms, 72LL * 3600 * 1000);

  EXPECT_EQ(incremental(kBroker, "", "message.max.bytes", 0, "2000"), 0);
  EXPECT_EQ(log_config().max_message_bytes, 2000);
  EXPECT_EQ(incremental(kBroker, "1", "min.insync.replicas", 0, "2"), 0);
  EXPECT_EQ(services.replicas->get("orders", 0)->min_insync_replicas(), 2);
  EXPECT_EQ(incremental(kBroker, "", "log.cleanup.policy", 0, "compact"), 0);
  EXPECT_TRUE(log_config().compact_enabled());
}

TEST_F(ConfigHandlersTest, DynamicKeysSamsaDoesNotApplyAreRefused) {
  // Kafka allows these to change dynamically; Samsa would only store them.
  for (const char* key : {"num.io.threads", "max.connections", "log.preallocate", "log.cleaner.threads",
                          "ssl.keystore.location", "log.cleaner.io.buffer.size"}) {
    EXPECT_EQ(incremental(kBroker, "1", key, 0, "1"), code(ErrorCode::INVALID_REQUEST)) << key;
    EXPECT_EQ(image()->config(ConfigResourceType::kBroker, "1"), nullptr) << key;
  }
  // Log defaults are checked with the rules of the topic key they supply.
  EXPECT_EQ(incremental(kBroker, "", "log.cleaner.min.cleanable.ratio", 0, "1.5"), code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(incremental(kBroker, "", "log.segment.bytes", 0, "1000"), code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(image()->config(ConfigResourceType::kBroker, ""), nullptr);
  EXPECT_EQ(incremental(kBroker, "", "log.cleaner.min.cleanable.ratio", 0, "0.25"), 0);
  EXPECT_EQ(services.replicas->get("orders", 0)->log()->config().min_cleanable_dirty_ratio, 0.25);
  // Static-only Kafka keys, known to Samsa's table or not.
  EXPECT_EQ(incremental(kBroker, "", "log.dirs", 0, "/x"), code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(incremental(kBroker, "1", "auto.leader.rebalance.enable", 0, "true"), code(ErrorCode::INVALID_REQUEST));
  // Parsed but unsupported keys are not described as in force.
  auto broker = describe(kBroker, "1");
  EXPECT_EQ(find(broker, "num.io.threads"), nullptr);
  ASSERT_NE(find(broker, "transaction.state.log.num.partitions"), nullptr);  // the transaction coordinator's
  ASSERT_NE(find(broker, "log.segment.bytes"), nullptr);
  EXPECT_FALSE(find(broker, "log.segment.bytes")->read_only);
  ASSERT_NE(find(broker, "num.network.threads"), nullptr);
  EXPECT_TRUE(find(broker, "num.network.threads")->read_only) << "Samsa cannot resize its reactors";

  // Once a running component applies a key, it is accepted and validated.
  DynamicBrokerConfig dynamic(*services.config, kNode);
  std::optional<std::string> applied;
  dynamic.add_reconfigurable(make_reconfigurable(
      {"max.connections"}, [&](const EffectiveValues& v) { applied = v.at("max.connections"); },
      [](std::string_view, std::string_view v) { return v == "0" ? std::optional<std::string>("too few") : std::nullopt; }));
  services.dynamic_config = &dynamic;
  EXPECT_EQ(incremental(kBroker, "1", "max.connections", 0, "0"), code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(incremental(kBroker, "1", "max.connections", 0, "100"), 0);
  dynamic.on_image(*image());  // the broker does this on every published image
  EXPECT_EQ(applied, "100");
  EXPECT_EQ(incremental(kBroker, "1", "num.io.threads", 0, "4"), code(ErrorCode::INVALID_REQUEST));
  services.dynamic_config = nullptr;
}

TEST_F(ConfigHandlersTest, DuplicateResourcesAreRefused) {
  p::IncrementalAlterConfigsRequest req;
  p::IncrementalAlterConfigsRequest::AlterConfigsResource r;
  r.resource_type = kTopic;
  r.resource_name = "orders";
  r.configs.push_back({"retention.ms", 0, "1", {}});
  req.resources = {r, r};
  auto resp = call<p::IncrementalAlterConfigsResponse>(44, 1, req);
  ASSERT_EQ(resp.responses.size(), 2u);
  EXPECT_EQ(resp.responses[0].error_code, code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(resp.responses[1].error_code, code(ErrorCode::INVALID_REQUEST));
}

TEST_F(ConfigHandlersTest, LegacyAlterConfigsReplacesEveryConfigAtEveryVersion) {
  for (int16_t v = 0; v <= 2; ++v) {
    p::AlterConfigsRequest req;
    p::AlterConfigsRequest::AlterConfigsResource r;
    r.resource_type = kTopic;
    r.resource_name = "orders";
    r.configs.push_back({"segment.bytes", std::to_string(1048576 + v), {}});
    req.resources.push_back(r);
    p::AlterConfigsRequest::AlterConfigsResource logger;
    logger.resource_type = kBrokerLogger;
    logger.resource_name = "1";
    req.resources.push_back(logger);
    auto resp = call<p::AlterConfigsResponse>(33, v, req);
    ASSERT_EQ(resp.responses.size(), 2u);
    EXPECT_EQ(resp.responses[0].error_code, 0) << resp.responses[0].error_message.value_or("");
    EXPECT_EQ(resp.responses[1].error_code, code(ErrorCode::INVALID_REQUEST));
    const ConfigMap* m = image()->config(ConfigResourceType::kTopic, "orders");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->count("retention.ms"), 0u) << "replaced, not merged";
    EXPECT_EQ(m->at("segment.bytes"), std::to_string(1048576 + v));
  }
  p::AlterConfigsRequest bad;
  p::AlterConfigsRequest::AlterConfigsResource r;
  r.resource_type = kTopic;
  r.resource_name = "orders";
  r.configs.push_back({"segment.bytes", "tiny", {}});
  bad.resources.push_back(r);
  bad.validate_only = true;
  EXPECT_EQ(call<p::AlterConfigsResponse>(33, 2, bad).responses.at(0).error_code, code(ErrorCode::INVALID_CONFIG));
}

}  // namespace
}  // namespace samsa::broker::test
