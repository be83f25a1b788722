#include "samsa/broker/topic_config.h"

#include <gtest/gtest.h>

namespace samsa::broker {
namespace {

using S = ConfigSourceId;

std::string value_of(const std::string& name, const ConfigMap& overrides = {}, const BrokerConfigLayers& b = {}) {
  auto e = describe_topic_config(name, overrides, b);
  return e && e->value ? *e->value : "<null>";
}

TEST(TopicConfig, TableIsSortedAndFollowsKafka40) {
  auto defs = topic_config_defs();
  for (size_t i = 1; i < defs.size(); ++i) EXPECT_LT(defs[i - 1].name, defs[i].name);
  EXPECT_NE(find_topic_config("segment.bytes"), nullptr);
  EXPECT_NE(find_topic_config("leader.replication.throttled.replicas"), nullptr);
  // Removed in Kafka 4.0.
  EXPECT_EQ(find_topic_config("message.format.version"), nullptr);
  EXPECT_EQ(find_topic_config("message.downconversion.enable"), nullptr);
  EXPECT_EQ(find_topic_config("message.timestamp.difference.max.ms"), nullptr);
}

TEST(TopicConfig, ParsesAndValidatesValues) {
  auto parse = [](std::string_view name, std::string_view v) {
    return parse_topic_config_value(*find_topic_config(name), v);
  };
  EXPECT_EQ(parse("segment.bytes", " 2097152 ").value, "2097152");
  EXPECT_EQ(parse("segment.bytes", "10").error,
            "Invalid value 10 for configuration segment.bytes: Value must be at least 1048576");
  EXPECT_EQ(parse("segment.bytes", "3000000000").error,
            "Invalid value 3000000000 for configuration segment.bytes: Not a number of type INT");
  EXPECT_EQ(parse("retention.ms", "-1").value, "-1");
  EXPECT_FALSE(parse("retention.ms", "-2").value);
  EXPECT_EQ(parse("retention.bytes", "-7").value, "-7");  // no lower bound
  EXPECT_EQ(parse("preallocate", "TRUE").value, "true");
  EXPECT_FALSE(parse("preallocate", "yes").value);
  EXPECT_EQ(parse("cleanup.policy", "compact, delete").value, "compact,delete");
  EXPECT_EQ(parse("cleanup.policy", "compact,nope").error,
            "Invalid value nope for configuration cleanup.policy: String must be one of: compact, delete");
  EXPECT_EQ(parse("compression.type", "zstd").value, "zstd");
  EXPECT_FALSE(parse("compression.type", "brotli").value);
  EXPECT_EQ(parse("message.timestamp.type", "LogAppendTime").value, "LogAppendTime");
  EXPECT_FALSE(parse("message.timestamp.type", "logappendtime").value);
  EXPECT_EQ(parse("min.cleanable.dirty.ratio", "0.50").value, "0.5");
  EXPECT_EQ(parse("min.cleanable.dirty.ratio", "1").value, "1.0");
  EXPECT_FALSE(parse("min.cleanable.dirty.ratio", "1.5").value);
  EXPECT_FALSE(parse("min.insync.replicas", "0").value);
  EXPECT_FALSE(parse("local.retention.ms", "-3").value);
  EXPECT_TRUE(parse("compression.gzip.level", "-1").value);
  EXPECT_FALSE(parse("compression.gzip.level", "0").value);
  EXPECT_FALSE(parse("compression.zstd.level", "23").value);
  EXPECT_EQ(parse("leader.replication.throttled.replicas", "0:1, 1:2").value, "0:1,1:2");
  EXPECT_EQ(parse("leader.replication.throttled.replicas", "*").value, "*");
  EXPECT_FALSE(parse("leader.replication.throttled.replicas", "0-1").value);
}

TEST(TopicConfig, ValidatesWholeOverrideSets) {
  EXPECT_EQ(validate_topic_configs({{"bogus", "1"}}, {}), "Unknown topic config name: bogus");
  EXPECT_EQ(validate_topic_configs({{"retention.ms", "1000"}, {"cleanup.policy", "compact"}}, {}), std::nullopt);
  EXPECT_EQ(validate_topic_configs({{"min.compaction.lag.ms", "10"}, {"max.compaction.lag.ms", "5"}}, {}),
            "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)");
  // The broker's value fills in the key the topic does not set.
  BrokerConfigLayers broker;
  broker.static_broker = {{"log.cleaner.max.compaction.lag.ms", "5"}};
  EXPECT_NE(validate_topic_configs({{"min.compaction.lag.ms", "10"}}, broker), std::nullopt);
  EXPECT_NE(validate_topic_configs({{"remote.storage.enable", "true"}}, {}), std::nullopt);
}

TEST(TopicConfig, DefaultsComeFromBrokerKeysWithUnitConversion) {
  EXPECT_EQ(value_of("retention.ms"), "604800000");  // log.retention.hours=168
  EXPECT_EQ(value_of("segment.ms"), "604800000");    // log.roll.hours=168
  EXPECT_EQ(value_of("max.message.bytes"), "1048588");
  EXPECT_EQ(value_of("flush.ms"), "9223372036854775807");
  EXPECT_EQ(value_of("min.cleanable.dirty.ratio"), "0.5");
  EXPECT_EQ(value_of("message.timestamp.after.max.ms"), "3600000");
  BrokerConfigLayers b;
  b.static_broker = {{"log.retention.minutes", "10"}, {"log.roll.hours", "1"}, {"log.retention.bytes", "77"}};
  EXPECT_EQ(value_of("retention.ms", {}, b), "600000");
  EXPECT_EQ(value_of("segment.ms", {}, b), "3600000");
  EXPECT_EQ(value_of("retention.bytes", {}, b), "77");
  b.dynamic_default = {{"log.retention.ms", "1234"}};  // a higher-priority synonym wins across layers
  EXPECT_EQ(value_of("retention.ms", {}, b), "1234");
  b.static_broker = {{"log.retention.hours", "-1"}};
  b.dynamic_default.clear();
  EXPECT_EQ(value_of("retention.ms", {}, b), "-1");
}

TEST(TopicConfig, EffectiveSourcesAndSynonymsOrder) {
  BrokerConfigLayers b;
  b.static_broker = {{"log.segment.bytes", "2097152"}};
  b.dynamic_default = {{"log.segment.bytes", "3145728"}};
  b.dynamic_broker = {{"log.segment.bytes", "4194304"}};
  auto e = *describe_topic_config("segment.bytes", {}, b);
  EXPECT_EQ(e.value, "4194304");
  EXPECT_EQ(e.source, S::kDynamicBroker);
  EXPECT_EQ(e.type, TopicConfigType::kInt);
  std::vector<ConfigSynonymEntry> expected = {{"log.segment.bytes", "4194304", S::kDynamicBroker},
                                              {"log.segment.bytes", "3145728", S::kDynamicDefaultBroker},
                                              {"log.segment.bytes", "2097152", S::kStaticBroker},
                                              {"log.segment.bytes", "1073741824", S::kDefault}};
  EXPECT_EQ(e.synonyms, expected);

  // A topic override comes first.
  auto o = *describe_topic_config("segment.bytes", {{"segment.bytes", "1048576"}}, b);
  EXPECT_EQ(o.value, "1048576");
  EXPECT_EQ(o.source, S::kDynamicTopic);
  ASSERT_EQ(o.synonyms.size(), 5u);
  EXPECT_EQ(o.synonyms[0], (ConfigSynonymEntry{"segment.bytes", "1048576", S::kDynamicTopic}));

  // Nothing set: the broker default is the only synonym.
  auto d = *describe_topic_config("segment.bytes", {}, {});
  EXPECT_EQ(d.source, S::kDefault);
  EXPECT_EQ(d.synonyms, (std::vector<ConfigSynonymEntry>{{"log.segment.bytes", "1073741824", S::kDefault}}));

  // retention.ms: sources in order, then synonym priority; the list starts at
  // the first log.retention.ms entry, as Kafka's does.
  BrokerConfigLayers r;
  r.dynamic_default = {{"log.retention.hours", "2"}};
  r.static_broker = {{"log.retention.ms", "1000"}};
  auto ret = *describe_topic_config("retention.ms", {}, r);
  EXPECT_EQ(ret.value, "1000");
  EXPECT_EQ(ret.source, S::kStaticBroker);
  EXPECT_EQ(ret.synonyms, (std::vector<ConfigSynonymEntry>{{"log.retention.ms", "1000", S::kStaticBroker},
                                                           {"log.retention.hours", "168", S::kDefault}}));
  auto hours_only = *describe_topic_config("retention.ms", {}, {});
  EXPECT_TRUE(hours_only.synonyms.empty());
  EXPECT_EQ(hours_only.source, S::kDefault);

  // Keys without a broker synonym.
  auto remote = *describe_topic_config("remote.storage.enable", {}, r);
  EXPECT_EQ(remote.value, "false");
  EXPECT_EQ(remote.source, S::kDefault);
  EXPECT_TRUE(remote.synonyms.empty());
  auto throttled = *describe_topic_config("leader.replication.throttled.replicas", {}, {});
  EXPECT_EQ(throttled.value, "");
  EXPECT_EQ(throttled.type, TopicConfigType::kList);

  EXPECT_EQ(describe_topic_config("nope", {}, {}), std::nullopt);
  auto all = describe_topic_configs({{"cleanup.policy", "compact"}}, {});
  EXPECT_EQ(all.size(), topic_config_defs().size());
  EXPECT_EQ(all.front().name, "cleanup.policy");
  EXPECT_EQ(all.front().value, "compact");
  EXPECT_EQ(all.front().source, S::kDynamicTopic);
}

}  // namespace
}  // namespace samsa::broker
