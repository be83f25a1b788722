#include "samsa/broker/metadata/controller.h"

#include <gtest/gtest.h>

// Records are built with designated initializers; the rest keep their defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "samsa/broker/metadata/metadata_delta.h"

namespace samsa::broker::metadata {
namespace {

using protocol::ErrorCode;
using protocol::Uuid;

MetadataImage cluster(int brokers, int fenced = 0) {
  MetadataImage image;
  image.cluster_id = "cluster";
  image.metadata_version = 21;
  for (int i = 1; i <= brokers; ++i) {
    BrokerRegistration b;
    b.id = i;
    b.epoch = 100 + i;
    b.fenced = i > brokers - fenced;
    image.brokers.emplace(i, b);
  }
  return image;
}

ControllerDefaults defaults() {
  ControllerDefaults d;
  d.num_partitions = 3;
  d.default_replication_factor = 1;
  return d;
}

std::shared_ptr<const MetadataImage> replay_all(const MetadataImage& image, const std::vector<RecordAndVersion>& records) {
  MetadataDelta delta(std::make_shared<const MetadataImage>(image));
  int64_t offset = image.offset + 1;
  for (const auto& r : records) delta.replay(frame(r), offset++);  // through the wire format
  return delta.apply();
}

CreatableTopic topic(std::string name, int32_t partitions = -1, int16_t rf = -1) {
  CreatableTopic t;
  t.name = std::move(name);
  t.num_partitions = partitions;
  t.replication_factor = rf;
  return t;
}

ApiError create_error(const MetadataImage& image, CreatableTopic t) {
  ReplicaPlacer placer(1);
  auto result = create_topics(image, std::span<const CreatableTopic>(&t, 1), false, defaults(), placer);
  EXPECT_EQ(result.topics.size(), 1u);
  if (!result.topics[0].error.ok()) {
    EXPECT_TRUE(result.records.empty());
  }
  return result.topics[0].error;
}

TEST(ControllerCreateTopics, CreatesTopicWithDefaultsAndRecordsInKafkaOrder) {
  MetadataImage image = cluster(1);
  CreatableTopic t = topic("orders");
  t.configs.push_back({"cleanup.policy", "compact"});
  ReplicaPlacer placer(7);
  auto result = create_topics(image, std::span<const CreatableTopic>(&t, 1), false, defaults(), placer);
  ASSERT_EQ(result.topics.size(), 1u);
  ASSERT_TRUE(result.topics[0].error.ok()) << result.topics[0].error.message;
  EXPECT_EQ(result.topics[0].num_partitions, 3);
  EXPECT_EQ(result.topics[0].replication_factor, 1);
  ASSERT_EQ(result.records.size(), 5u);  // TopicRecord, ConfigRecord, 3 x PartitionRecord
  EXPECT_EQ(record_type(result.records[0].record), protocol::TopicRecord::kApiKey);
  EXPECT_EQ(record_type(result.records[1].record), protocol::ConfigRecord::kApiKey);
  const auto& p0 = std::get<protocol::PartitionRecord>(result.records[2].record);
  EXPECT_EQ(result.records[2].version, 1);  // metadata.version 3.9: directories
  EXPECT_EQ(p0.replicas, (std::vector<int32_t>{1}));
  EXPECT_EQ(p0.isr, (std::vector<int32_t>{1}));
  EXPECT_EQ(p0.leader, 1);
  EXPECT_EQ(p0.leader_epoch, 0);
  EXPECT_EQ(p0.partition_epoch, 0);
  EXPECT_EQ(p0.directories.size(), 1u);

  auto after = replay_all(image, result.records);
  const TopicImage* created = after->topic("orders");
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->id, result.topics[0].topic_id);
  EXPECT_EQ(created->partitions.size(), 3u);
  EXPECT_EQ(after->config(ConfigResourceType::kTopic, "orders")->at("cleanup.policy"), "compact");
}

TEST(ControllerCreateTopics, ValidateOnlyProducesNoRecords) {
  MetadataImage image = cluster(1);
  CreatableTopic t = topic("x", 2, 1);
  ReplicaPlacer placer(1);
  auto result = create_topics(image, std::span<const CreatableTopic>(&t, 1), true, defaults(), placer);
  EXPECT_TRUE(result.topics[0].error.ok());
  EXPECT_EQ(result.topics[0].num_partitions, 2);
  EXPECT_TRUE(result.records.empty());
}

TEST(ControllerCreateTopics, ErrorsUseKafkasCodes) {
  MetadataImage image = cluster(3, 1);  // brokers 1, 2 unfenced; 3 fenced
  CreatableTopic existing = topic("foo.bar", 1, 1);
  ReplicaPlacer placer(1);
  image = *replay_all(image, create_topics(image, std::span<const CreatableTopic>(&existing, 1), false, defaults(), placer).records);

  EXPECT_EQ(create_error(image, topic("foo.bar")).code, ErrorCode::TOPIC_ALREADY_EXISTS);
  EXPECT_EQ(create_error(image, topic("foo.bar")).message, "Topic 'foo.bar' already exists.");
  ApiError collision = create_error(image, topic("foo_bar"));
  EXPECT_EQ(collision.code, ErrorCode::INVALID_TOPIC_EXCEPTION);
  EXPECT_EQ(collision.message, "Topic 'foo_bar' collides with existing topic: foo.bar");
  EXPECT_EQ(create_error(image, topic("")).code, ErrorCode::INVALID_TOPIC_EXCEPTION);
  EXPECT_EQ(create_error(image, topic(".")).code, ErrorCode::INVALID_TOPIC_EXCEPTION);
  EXPECT_EQ(create_error(image, topic("..")).code, ErrorCode::INVALID_TOPIC_EXCEPTION);
  EXPECT_EQ(create_error(image, topic("a b")).code, ErrorCode::INVALID_TOPIC_EXCEPTION);
  EXPECT_EQ(create_error(image, topic(std::string(250, 'a'))).code, ErrorCode::INVALID_TOPIC_EXCEPTION);
  EXPECT_TRUE(create_error(image, topic(std::string(249, 'a'))).ok());
  EXPECT_EQ(create_error(image, topic("__cluster_metadata")).code, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(create_error(image, topic("p", 0, 1)).code, ErrorCode::INVALID_PARTITIONS);
  EXPECT_EQ(create_error(image, topic("p", -2, 1)).code, ErrorCode::INVALID_PARTITIONS);
  EXPECT_EQ(create_error(image, topic("r", 1, 0)).code, ErrorCode::INVALID_REPLICATION_FACTOR);
  EXPECT_EQ(create_error(image, topic("r", 1, -5)).code, ErrorCode::INVALID_REPLICATION_FACTOR);
  ApiError too_many = create_error(image, topic("r", 1, 4));
  EXPECT_EQ(too_many.code, ErrorCode::INVALID_REPLICATION_FACTOR);
  EXPECT_EQ(too_many.message,
            "Unable to replicate the partition 4 time(s): The target replication factor of 4 cannot be reached "
            "because only 3 broker(s) are registered.");

  CreatableTopic bad_config = topic("c");
  bad_config.configs.push_back({"no.such.config", "1"});
  EXPECT_EQ(create_error(image, bad_config).code, ErrorCode::INVALID_CONFIG);
  bad_config.configs = {{"segment.bytes", "10"}};
  ApiError e = create_error(image, bad_config);
  EXPECT_EQ(e.code, ErrorCode::INVALID_CONFIG);
  EXPECT_EQ(e.message, "Invalid value 10 for configuration segment.bytes: Value must be at least 1048576");
  bad_config.configs = {{"retention.ms", std::nullopt}};
  EXPECT_EQ(create_error(image, bad_config).code, ErrorCode::INVALID_CONFIG);

  CreatableTopic manual = topic("m");
  manual.assignments = {{0, {1, 2}}, {1, {2}}};
  EXPECT_EQ(create_error(image, manual).code, ErrorCode::INVALID_REPLICA_ASSIGNMENT);  // inconsistent RF
  manual.assignments = {{0, {1, 1}}};
  EXPECT_EQ(create_error(image, manual).code, ErrorCode::INVALID_REPLICA_ASSIGNMENT);  // duplicate broker
  manual.assignments = {{0, {9}}};
  EXPECT_EQ(create_error(image, manual).code, ErrorCode::INVALID_REPLICA_ASSIGNMENT);  // unknown broker
  manual.assignments = {{1, {1}}};
  EXPECT_EQ(create_error(image, manual).code, ErrorCode::INVALID_REPLICA_ASSIGNMENT);  // not 0-based
  manual.assignments = {{0, {3}}};
  EXPECT_EQ(create_error(image, manual).code, ErrorCode::INVALID_REPLICA_ASSIGNMENT);  // only fenced
  manual.assignments = {{0, {}}};
  EXPECT_EQ(create_error(image, manual).code, ErrorCode::INVALID_REPLICA_ASSIGNMENT);  // empty
  manual.assignments = {{0, {1}}};
  manual.num_partitions = 1;
  EXPECT_EQ(create_error(image, manual).code, ErrorCode::INVALID_REQUEST);
  manual.num_partitions = -1;
  manual.assignments = {{0, {3, 1}}, {1, {2, 3}}};
  EXPECT_TRUE(create_error(image, manual).ok());

  // Duplicate names in one request: one INVALID_REQUEST result.
  std::vector<CreatableTopic> dup = {topic("d"), topic("d"), topic("ok")};
  ReplicaPlacer p2(3);
  auto result = create_topics(image, dup, false, defaults(), p2);
  ASSERT_EQ(result.topics.size(), 2u);
  EXPECT_EQ(result.topics[0].error.code, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(result.topics[0].error.message, "Duplicate topic name.");
  EXPECT_TRUE(result.topics[1].error.ok());
}

TEST(ControllerCreateTopics, ManualAssignmentUsesGivenReplicasAndActiveIsr) {
  MetadataImage image = cluster(3, 1);
  CreatableTopic t = topic("m");
  t.assignments = {{0, {3, 1}}, {1, {2, 3}}};
  ReplicaPlacer placer(1);
  auto result = create_topics(image, std::span<const CreatableTopic>(&t, 1), false, defaults(), placer);
  auto after = replay_all(image, result.records);
  const PartitionImage* p0 = after->topic("m")->partition(0);
  EXPECT_EQ(p0->replicas, (std::vector<int32_t>{3, 1}));
  EXPECT_EQ(p0->isr, (std::vector<int32_t>{1}));  // broker 3 is fenced
  EXPECT_EQ(p0->leader, 1);
}

TEST(ControllerReplicaPlacement, OneBroker) {
  MetadataImage image = cluster(1);
  ReplicaPlacer placer(42);
  auto placed = placer.place(image, 4, 1);
  ASSERT_TRUE(std::holds_alternative<Assignment>(placed));
  for (const auto& replicas : std::get<Assignment>(placed)) EXPECT_EQ(replicas, (std::vector<int32_t>{1}));
  auto too_many = placer.place(image, 1, 2);
  EXPECT_EQ(std::get<ApiError>(too_many).code, ErrorCode::INVALID_REPLICATION_FACTOR);
  MetadataImage fenced = cluster(1, 1);
  EXPECT_EQ(std::get<ApiError>(placer.place(fenced, 1, 1)).message,
            "Unable to replicate the partition 1 time(s): All brokers are currently fenced.");
}

TEST(ControllerReplicaPlacement, ThreeBrokersSpreadLeadersAndReplicas) {
  MetadataImage image = cluster(3);
  ReplicaPlacer placer(5);
  auto placed = std::get<Assignment>(placer.place(image, 3, 3));
  std::set<int32_t> leaders;
  for (const auto& replicas : placed) {
    ASSERT_EQ(replicas.size(), 3u);
    EXPECT_EQ(std::set<int32_t>(replicas.begin(), replicas.end()), (std::set<int32_t>{1, 2, 3}));
    leaders.insert(replicas[0]);
  }
  EXPECT_EQ(leaders.size(), 3u);  // round robin: every broker leads one partition

  auto single = std::get<Assignment>(placer.place(image, 6, 1));
  std::map<int32_t, int> count;
  for (const auto& r : single) ++count[r[0]];
  EXPECT_EQ(count.size(), 3u);
  for (const auto& [b, n] : count) EXPECT_EQ(n, 2);

  // Leaders are unfenced; a fenced broker only fills a follower slot.
  MetadataImage partly = cluster(3, 1);
  Assignment with_fenced = std::get<Assignment>(placer.place(partly, 4, 3));
  for (const auto& replicas : with_fenced) {
    EXPECT_NE(replicas[0], 3);
    EXPECT_EQ(std::set<int32_t>(replicas.begin(), replicas.end()).size(), 3u);
  }
}

TEST(ControllerDeleteTopics, ByNameAndIdWithKafkaErrors) {
  MetadataImage image = cluster(1);
  std::vector<CreatableTopic> ts = {topic("a", 1, 1), topic("b", 1, 1), topic("__consumer_offsets", 1, 1)};
  ReplicaPlacer placer(1);
  image = *replay_all(image, create_topics(image, ts, false, defaults(), placer).records);
  Uuid b_id = image.topic("b")->id;

  std::vector<DeleteTopicRef> refs = {{"a", {}}, {std::nullopt, b_id}, {"missing", {}},
                                      {std::nullopt, Uuid::random()}, {"__consumer_offsets", {}}};
  auto result = delete_topics(image, refs, defaults());
  ASSERT_EQ(result.topics.size(), 5u);
  EXPECT_TRUE(result.topics[0].error.ok());
  EXPECT_TRUE(result.topics[1].error.ok());
  EXPECT_EQ(result.topics[1].name, "b");
  EXPECT_EQ(result.topics[2].error.code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(result.topics[3].error.code, ErrorCode::UNKNOWN_TOPIC_ID);
  EXPECT_TRUE(result.topics[4].error.ok());  // KRaft lets internal topics be deleted
  EXPECT_EQ(result.records.size(), 3u);
  auto after = replay_all(image, result.records);
  EXPECT_TRUE(after->topics->by_id.empty());

  std::vector<DeleteTopicRef> dup = {{"a", {}}, {"a", {}}};
  EXPECT_EQ(delete_topics(image, dup, defaults()).topics[0].error.code, ErrorCode::INVALID_REQUEST);
  ControllerDefaults disabled = defaults();
  disabled.delete_topic_enable = false;
  EXPECT_EQ(delete_topics(image, refs, disabled).topics[0].error.code, ErrorCode::TOPIC_DELETION_DISABLED);
  EXPECT_TRUE(delete_topics(image, refs, disabled).records.empty());
}

TEST(ControllerCreatePartitions, AddsPartitionsAndRejectsDecreases) {
  MetadataImage image = cluster(2);
  CreatableTopic t = topic("t", 2, 2);
  ReplicaPlacer placer(1);
  image = *replay_all(image, create_topics(image, std::span<const CreatableTopic>(&t, 1), false, defaults(), placer).records);

  std::vector<CreatePartitionsTopic> req = {{"t", 4, std::nullopt}};
  auto ok = create_partitions(image, req, false, placer);
  ASSERT_TRUE(ok.topics[0].error.ok()) << ok.topics[0].error.message;
  ASSERT_EQ(ok.records.size(), 2u);
  auto after = replay_all(image, ok.records);
  EXPECT_EQ(after->topic("t")->partitions.size(), 4u);
  EXPECT_EQ(after->topic("t")->partition(3)->replicas.size(), 2u);
  EXPECT_TRUE(create_partitions(image, req, true, placer).records.empty());

  auto code = [&](CreatePartitionsTopic r) {
    return create_partitions(image, std::span<const CreatePartitionsTopic>(&r, 1), false, placer).topics[0].error.code;
  };
  EXPECT_EQ(code({"t", 2, std::nullopt}), ErrorCode::INVALID_PARTITIONS);
  EXPECT_EQ(code({"t", 1, std::nullopt}), ErrorCode::INVALID_PARTITIONS);
  EXPECT_EQ(code({"nope", 3, std::nullopt}), ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(code({"t", 4, std::vector<std::vector<int32_t>>{{1, 2}}}), ErrorCode::INVALID_REPLICA_ASSIGNMENT);
  EXPECT_EQ(code({"t", 3, std::vector<std::vector<int32_t>>{{1}}}), ErrorCode::INVALID_REPLICA_ASSIGNMENT);
  EXPECT_EQ(code({"t", 3, std::vector<std::vector<int32_t>>{{2, 1}}}), ErrorCode::NONE);
}

TEST(ControllerAlterConfigs, IncrementalOpsIncludingListAppendAndSubtract) {
  MetadataImage image = cluster(1);
  CreatableTopic t = topic("t", 1, 1);
  ReplicaPlacer placer(1);
  image = *replay_all(image, create_topics(image, std::span<const CreatableTopic>(&t, 1), false, defaults(), placer).records);

  auto run = [&](std::vector<AlterableConfig> ops, int8_t type = 2, std::string name = "t") {
    std::vector<AlterConfigsResource> res = {{type, name, std::move(ops)}};
    auto result = incremental_alter_configs(image, res, false, defaults());
    if (result.resources[0].error.ok()) image = *replay_all(image, result.records);
    return result.resources[0].error;
  };
  auto topic_config = [&](const std::string& key) -> std::optional<std::string> {
    const ConfigMap* m = image.config(ConfigResourceType::kTopic, "t");
    if (!m || !m->contains(key)) return std::nullopt;
    return m->at(key);
  };
  using Op = AlterConfigOp;
  EXPECT_TRUE(run({{"retention.ms", Op::kSet, "1000"}}).ok());
  EXPECT_EQ(topic_config("retention.ms"), "1000");
  // APPEND starts from the default ("delete") when the key is not set.
  EXPECT_TRUE(run({{"cleanup.policy", Op::kAppend, "compact"}}).ok());
  EXPECT_EQ(topic_config("cleanup.policy"), "delete,compact");
  EXPECT_TRUE(run({{"cleanup.policy", Op::kAppend, "compact"}}).ok());  // already there
  EXPECT_EQ(topic_config("cleanup.policy"), "delete,compact");
  EXPECT_TRUE(run({{"cleanup.policy", Op::kSubtract, "delete"}}).ok());
  EXPECT_EQ(topic_config("cleanup.policy"), "compact");
  EXPECT_TRUE(run({{"retention.ms", Op::kDelete, std::nullopt}}).ok());
  EXPECT_EQ(topic_config("retention.ms"), std::nullopt);

  ApiError not_list = run({{"retention.ms", Op::kAppend, "5"}});
  EXPECT_EQ(not_list.code, ErrorCode::INVALID_CONFIG);
  EXPECT_EQ(not_list.message, "Can't APPEND to key retention.ms because its type is not LIST.");
  EXPECT_EQ(run({{"cleanup.policy", Op::kAppend, "bogus"}}).code, ErrorCode::INVALID_CONFIG);
  EXPECT_EQ(run({{"nope", Op::kSet, "1"}}).code, ErrorCode::INVALID_CONFIG);
  EXPECT_EQ(run({{"min.compaction.lag.ms", Op::kSet, "10"}, {"max.compaction.lag.ms", Op::kSet, "5"}}).code,
            ErrorCode::INVALID_CONFIG);
  EXPECT_EQ(run({{"a", Op::kSet, "1"}, {"a", Op::kSet, "2"}}).code, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(run({{"retention.ms", Op::kSet, "1"}}, 2, "missing").code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(run({{"retention.ms", Op::kSet, "1"}}, 2, "").code, ErrorCode::INVALID_REQUEST);

  // Broker resources: "" is the cluster default, else a registered node id.
  EXPECT_TRUE(run({{"log.retention.ms", Op::kSet, "5000"}}, 4, "").ok());
  EXPECT_EQ(image.config(ConfigResourceType::kBroker, "")->at("log.retention.ms"), "5000");
  EXPECT_TRUE(run({{"log.cleanup.policy", Op::kAppend, "compact"}}, 4, "1").ok());
  EXPECT_EQ(image.config(ConfigResourceType::kBroker, "1")->at("log.cleanup.policy"), "delete,compact");
  EXPECT_EQ(run({{"log.retention.ms", Op::kSet, "1"}}, 4, "7").code, ErrorCode::BROKER_ID_NOT_REGISTERED);
  EXPECT_EQ(run({{"log.retention.ms", Op::kSet, "1"}}, 4, "x").code, ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(run({{"num.partitions", Op::kSet, "zero"}}, 4, "").code, ErrorCode::INVALID_CONFIG);

  // validate_only: checked, no records.
  std::vector<AlterConfigsResource> res = {{2, "t", {{"segment.ms", Op::kSet, "100"}}}};
  auto dry = incremental_alter_configs(image, res, true, defaults());
  EXPECT_TRUE(dry.resources[0].error.ok());
  EXPECT_TRUE(dry.records.empty());
}

TEST(ControllerAlterConfigs, LegacyAlterReplacesEveryKey) {
  MetadataImage image = cluster(1);
  CreatableTopic t = topic("t", 1, 1);
  t.configs = {{"retention.ms", "1000"}, {"segment.ms", "2000"}};
  ReplicaPlacer placer(1);
  image = *replay_all(image, create_topics(image, std::span<const CreatableTopic>(&t, 1), false, defaults(), placer).records);
  std::vector<AlterConfigsResource> res = {{2, "t", {{"retention.ms", AlterConfigOp::kSet, "5"}}}};
  auto result = alter_configs(image, res, false, defaults());
  ASSERT_TRUE(result.resources[0].error.ok());
  auto after = replay_all(image, result.records);
  const ConfigMap* m = after->config(ConfigResourceType::kTopic, "t");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(*m, (ConfigMap{{"retention.ms", "5"}}));
}

TEST(ControllerCluster, RegisterFenceProducerIdsAndBootstrap) {
  MetadataImage image;
  image.cluster_id = "c";
  image = *replay_all(image, bootstrap_records(21));
  EXPECT_EQ(image.metadata_version, 21);

  BrokerRegistrationInput in;
  in.broker_id = 1;
  in.cluster_id = "c";
  in.incarnation_id = Uuid::random();
  in.listeners = {{"PLAINTEXT", "localhost", 9092, "PLAINTEXT"}};
  in.features = {{"metadata.version", {7, 21}}};
  in.log_dirs = {Uuid::random()};
  auto reg = register_broker(image, in, 5);
  ASSERT_TRUE(reg.error.ok()) << reg.error.message;
  EXPECT_EQ(reg.broker_epoch, 5);
  EXPECT_EQ(reg.records[0].version, 3);
  image = *replay_all(image, reg.records);
  EXPECT_TRUE(image.brokers.at(1).fenced);
  EXPECT_EQ(image.brokers.at(1).epoch, 5);

  auto unfence = fence_broker(image, 1, false);
  image = *replay_all(image, {std::get<RecordAndVersion>(unfence)});
  EXPECT_FALSE(image.brokers.at(1).fenced);

  BrokerRegistrationInput other = in;
  other.incarnation_id = Uuid::random();
  EXPECT_EQ(register_broker(image, other, 9).error.code, ErrorCode::DUPLICATE_BROKER_REGISTRATION);
  other.cluster_id = "elsewhere";
  EXPECT_EQ(register_broker(image, other, 9).error.code, ErrorCode::INCONSISTENT_CLUSTER_ID);
  BrokerRegistrationInput old = in;
  old.features = {{"metadata.version", {1, 7}}};
  EXPECT_EQ(register_broker(image, old, 9).error.code, ErrorCode::UNSUPPORTED_VERSION);

  auto first = allocate_producer_ids(image, 1, 5);
  ASSERT_TRUE(first.error.ok());
  EXPECT_EQ(first.block.first_id, 0);
  EXPECT_EQ(first.block.size, 1000);
  image = *replay_all(image, first.records);
  auto second = allocate_producer_ids(image, 1, 5);
  EXPECT_EQ(second.block.first_id, 1000);
  EXPECT_EQ(allocate_producer_ids(image, 1, 4).error.code, ErrorCode::STALE_BROKER_EPOCH);
}

}  // namespace
}  // namespace samsa::broker::metadata
