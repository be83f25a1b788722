// The precedence of a running log's config: topic override > dynamic
// per-broker > dynamic cluster default > server.properties > Kafka's default.
#include "samsa/broker/effective_log_config.h"

#include <gtest/gtest.h>

#include "samsa/broker/dynamic_broker_config.h"
#include "single_node_env.h"

namespace samsa::broker {
namespace {

BrokerConfigLayers layers(ConfigMap per_broker, ConfigMap cluster_default, ConfigMap static_broker) {
  BrokerConfigLayers l;
  l.dynamic_broker = std::move(per_broker);
  l.dynamic_default = std::move(cluster_default);
  l.static_broker = std::move(static_broker);
  return l;
}

TEST(EffectiveLogConfig, KafkaDefaultsWhenNothingIsSet) {
  auto c = effective_topic_config({}, {});
  EXPECT_EQ(c.log.segment_bytes, 1073741824);
  EXPECT_EQ(c.log.retention_ms, 7LL * 24 * 3600 * 1000);
  EXPECT_EQ(c.log.retention_bytes, -1);
  EXPECT_EQ(c.log.cleanup_policy, "delete");
  EXPECT_EQ(c.min_insync_replicas, 1);
  EXPECT_EQ(c.log.producer_id_expiration_ms, 86400000);
}

TEST(EffectiveLogConfig, EachLayerBeatsTheOnesBelow) {
  ConfigMap stat = {{"log.segment.bytes", "2097152"}, {"log.retention.bytes", "100"}, {"min.insync.replicas", "2"}};
  ConfigMap def = {{"log.segment.bytes", "3145728"}, {"log.retention.bytes", "200"}};
  ConfigMap broker = {{"log.segment.bytes", "4194304"}};
  EXPECT_EQ(effective_topic_config({}, layers({}, {}, stat)).log.segment_bytes, 2097152);
  EXPECT_EQ(effective_topic_config({}, layers({}, def, stat)).log.segment_bytes, 3145728);
  auto all = effective_topic_config({}, layers(broker, def, stat));
  EXPECT_EQ(all.log.segment_bytes, 4194304);
  EXPECT_EQ(all.log.retention_bytes, 200) << "per key: the default layer still supplies what the broker layer lacks";
  EXPECT_EQ(all.min_insync_replicas, 2);
  auto topic = effective_topic_config({{"segment.bytes", "5242880"}, {"min.insync.replicas", "3"}},
                                      layers(broker, def, stat));
  EXPECT_EQ(topic.log.segment_bytes, 5242880) << "a topic override beats every broker layer";
  EXPECT_EQ(topic.log.retention_bytes, 200);
  EXPECT_EQ(topic.min_insync_replicas, 3);
}

TEST(EffectiveLogConfig, SynonymsAndUnitsFollowKafka) {
  // log.retention.ms > log.retention.minutes > log.retention.hours, and the
  // static hours value counts only when no ms/minutes value is anywhere.
  EXPECT_EQ(effective_topic_config({}, layers({}, {}, {{"log.retention.hours", "2"}})).log.retention_ms, 7200000);
  EXPECT_EQ(effective_topic_config({}, layers({}, {{"log.retention.ms", "5000"}}, {{"log.retention.hours", "2"}}))
                .log.retention_ms,
            5000);
  EXPECT_EQ(effective_topic_config({}, layers({}, {}, {{"log.roll.hours", "1"}})).log.segment_ms, 3600000);
  EXPECT_EQ(effective_topic_config({}, layers({{"log.cleanup.policy", "compact,delete"}}, {}, {}))
                .log.cleanup_policy,
            "compact,delete");
  EXPECT_EQ(effective_topic_config({}, layers({}, {{"producer.id.expiration.ms", "1234"}}, {}))
                .log.producer_id_expiration_ms,
            1234);
}

TEST(EffectiveLogConfig, OnlyKeysTheLogsApplyCountAsApplied) {
  EXPECT_TRUE(applied_by_logs("log.segment.bytes"));
  EXPECT_TRUE(applied_by_logs("log.retention.ms"));
  EXPECT_TRUE(applied_by_logs("message.max.bytes"));
  EXPECT_TRUE(applied_by_logs("min.insync.replicas"));
  EXPECT_TRUE(applied_by_logs("producer.id.expiration.ms"));
  EXPECT_FALSE(applied_by_logs("log.retention.hours")) << "Kafka: not a dynamic key";
  EXPECT_FALSE(applied_by_logs("log.preallocate")) << "parsed, not implemented";
  EXPECT_TRUE(applied_by_logs("compression.gzip.level")) << "the broker's recompression level";
  EXPECT_FALSE(applied_by_logs("log.cleaner.io.buffer.size")) << "parsed, not implemented";
  EXPECT_FALSE(applied_by_logs("num.io.threads"));
  EXPECT_FALSE(applied_by_logs("max.connections"));
}

TEST(EffectiveLogConfig, BrokerValuesFallBackToTheKeyDefault) {
  auto l = layers({{"x.key", "1"}}, {{"x.key", "2"}, {"y.key", "3"}}, {{"y.key", "4"}, {"z.key", "5"}});
  EXPECT_EQ(effective_broker_value(l, "x.key"), "1");
  EXPECT_EQ(effective_broker_value(l, "y.key"), "3");
  EXPECT_EQ(effective_broker_value(l, "z.key"), "5");
  EXPECT_EQ(effective_broker_value(l, "num.partitions"), "1");
  EXPECT_EQ(effective_broker_value(l, "log.retention.ms"), std::nullopt) << "null default";
  EXPECT_EQ(effective_broker_value(l, "no.such.key"), std::nullopt);
}

class Recorder : public Reconfigurable {
 public:
  std::vector<std::string> reconfigurable_configs() const override { return {"max.connections"}; }
  std::optional<std::string> validate_reconfiguration(std::string_view, std::string_view value) const override {
    if (value == "-5") return "max.connections must not be negative";
    return std::nullopt;
  }
  void reconfigure(const EffectiveValues& values) override { seen.push_back(values.at("max.connections")); }
  std::vector<std::optional<std::string>> seen;
};

MetadataImage image_with(ConfigMap per_broker, ConfigMap cluster_default) {
  auto configs = std::make_shared<ConfigsImage>();
  if (!per_broker.empty())
    configs->resources[ConfigResource{ConfigResourceType::kBroker, "1"}] = std::make_shared<const ConfigMap>(per_broker);
  if (!cluster_default.empty())
    configs->resources[ConfigResource{ConfigResourceType::kBroker, ""}] =
        std::make_shared<const ConfigMap>(cluster_default);
  MetadataImage image;
  image.configs = configs;
  return image;
}

TEST(DynamicBrokerConfig, ReconfigurablesSeeChangesInKafkasOrder) {
  auto config = test_env::single_node_config("/tmp/unused", "max.connections=100\n");
  DynamicBrokerConfig dynamic(config, 1);
  auto recorder = std::make_shared<Recorder>();
  EXPECT_FALSE(dynamic.applies("max.connections")) << "nothing applies it yet";
  dynamic.add_reconfigurable(recorder);
  EXPECT_TRUE(dynamic.applies("max.connections"));
  EXPECT_TRUE(dynamic.applies("log.segment.bytes"));
  EXPECT_FALSE(dynamic.applies("num.io.threads"));
  EXPECT_EQ(dynamic.validate("max.connections", "-5"), "max.connections must not be negative");
  EXPECT_EQ(dynamic.validate("max.connections", "5"), std::nullopt);
  EXPECT_TRUE(recorder->seen.empty()) << "no image yet";

  dynamic.on_image(image_with({}, {}));
  dynamic.on_image(image_with({}, {{"max.connections", "50"}}));
  dynamic.on_image(image_with({{"max.connections", "10"}}, {{"max.connections", "50"}}));
  dynamic.on_image(image_with({{"max.connections", "10"}}, {{"max.connections", "60"}}));  // hidden: no call
  dynamic.on_image(image_with({}, {}));
  std::vector<std::optional<std::string>> expected = {"100", "50", "10", "100"};
  EXPECT_EQ(recorder->seen, expected);

  // A component registered later starts from the values in force.
  dynamic.on_image(image_with({}, {{"max.connections", "70"}}));
  auto late = std::make_shared<Recorder>();
  dynamic.add_reconfigurable(late);
  ASSERT_EQ(late->seen.size(), 1u);
  EXPECT_EQ(late->seen[0], "70");
  dynamic.remove_reconfigurable(recorder.get());
  dynamic.remove_reconfigurable(late.get());
  EXPECT_FALSE(dynamic.applies("max.connections"));
}

}  // namespace
}  // namespace samsa::broker
