#include "samsa/broker/metadata/metadata_delta.h"

#include <gtest/gtest.h>

// Records are built with designated initializers; the rest keep their defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/record_batch.h"

namespace samsa::broker::metadata {
namespace {

using protocol::Uuid;

std::shared_ptr<const MetadataImage> empty_image() { return std::make_shared<const MetadataImage>(); }

protocol::PartitionRecord partition(const Uuid& topic, int32_t id, std::vector<int32_t> replicas) {
  protocol::PartitionRecord p;
  p.topic_id = topic;
  p.partition_id = id;
  p.replicas = replicas;
  p.isr = replicas;
  p.leader = replicas.front();
  p.leader_epoch = 0;
  p.partition_epoch = 0;
  return p;
}

protocol::ConfigRecord config(ConfigResourceType type, std::string resource, std::string name,
                              std::optional<std::string> value) {
  return {.resource_type = static_cast<int8_t>(type), .resource_name = std::move(resource), .name = std::move(name),
          .value = std::move(value)};
}

// Replays typed records through their framed bytes, as the log holds them.
std::shared_ptr<const MetadataImage> replay(std::shared_ptr<const MetadataImage> base,
                                            const std::vector<RecordAndVersion>& records, int64_t first_offset = 0) {
  MetadataDelta delta(std::move(base));
  int64_t offset = first_offset;
  for (const auto& r : records) EXPECT_TRUE(delta.replay(frame(r), offset++));
  return delta.apply();
}

TEST(MetadataDelta, TopicAndPartitionRecordsBuildTheImage) {
  Uuid id = Uuid::random();
  auto image = replay(empty_image(), {{protocol::TopicRecord{.name = "orders", .topic_id = id}, 0},
                                      {partition(id, 0, {1, 2, 3}), 0},
                                      {partition(id, 1, {2, 3, 1}), 1}});
  const TopicImage* topic = image->topic("orders");
  ASSERT_NE(topic, nullptr);
  EXPECT_EQ(topic, image->topic(id));
  EXPECT_EQ(topic->id, id);
  ASSERT_EQ(topic->partitions.size(), 2u);
  const PartitionImage* p1 = topic->partition(1);
  ASSERT_NE(p1, nullptr);
  EXPECT_EQ(p1->replicas, (std::vector<int32_t>{2, 3, 1}));
  EXPECT_EQ(p1->isr, (std::vector<int32_t>{2, 3, 1}));
  EXPECT_EQ(p1->leader, 2);
  EXPECT_EQ(p1->leader_epoch, 0);
  EXPECT_EQ(p1->partition_epoch, 0);
  EXPECT_EQ(image->offset, 2);
}

TEST(MetadataDelta, PartitionChangeRecordMergesLikeKafka) {
  Uuid id = Uuid::random();
  auto base = replay(empty_image(), {{protocol::TopicRecord{.name = "t", .topic_id = id}, 0},
                                     {partition(id, 0, {1, 2, 3}), 0}});
  protocol::PartitionChangeRecord isr_only{.partition_id = 0, .topic_id = id};
  isr_only.isr = std::vector<int32_t>{1, 2};
  protocol::PartitionChangeRecord new_leader{.partition_id = 0, .topic_id = id};
  new_leader.leader = 2;
  auto image = replay(base, {{isr_only, 0}, {new_leader, 0}}, 2);
  const PartitionImage* p = image->topic("t")->partition(0);
  EXPECT_EQ(p->isr, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(p->replicas, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(p->leader, 2);
  EXPECT_EQ(p->leader_epoch, 1);     // bumped by the leader change only
  EXPECT_EQ(p->partition_epoch, 2);  // bumped by every change
}

TEST(MetadataDelta, RemoveTopicRecordRemovesTopicAndItsConfigs) {
  Uuid a = Uuid::random(), b = Uuid::random();
  auto base = replay(empty_image(), {{protocol::TopicRecord{.name = "a", .topic_id = a}, 0},
                                     {partition(a, 0, {1}), 0},
                                     {config(ConfigResourceType::kTopic, "a", "retention.ms", "1000"), 0},
                                     {protocol::TopicRecord{.name = "b", .topic_id = b}, 0}});
  auto image = replay(base, {{protocol::RemoveTopicRecord{.topic_id = a}, 0}}, 10);
  EXPECT_EQ(image->topic("a"), nullptr);
  EXPECT_EQ(image->topic(a), nullptr);
  EXPECT_NE(image->topic("b"), nullptr);
  EXPECT_EQ(image->config(ConfigResourceType::kTopic, "a"), nullptr);
  EXPECT_EQ(image->topics->by_id.size(), 1u);
}

TEST(MetadataDelta, ConfigRecordSetsAndNullValueDeletes) {
  auto image = replay(empty_image(), {{config(ConfigResourceType::kBroker, "", "log.retention.ms", "5000"), 0},
                                      {config(ConfigResourceType::kBroker, "1", "message.max.bytes", "100"), 0},
                                      {config(ConfigResourceType::kTopic, "t", "cleanup.policy", "compact"), 0}});
  ASSERT_NE(image->config(ConfigResourceType::kBroker, ""), nullptr);
  EXPECT_EQ(image->config(ConfigResourceType::kBroker, "")->at("log.retention.ms"), "5000");
  EXPECT_EQ(image->config(ConfigResourceType::kBroker, "1")->at("message.max.bytes"), "100");
  auto after = replay(image, {{config(ConfigResourceType::kTopic, "t", "cleanup.policy", std::nullopt), 0},
                              {config(ConfigResourceType::kBroker, "", "log.retention.ms", "6000"), 0}});
  EXPECT_EQ(after->config(ConfigResourceType::kTopic, "t"), nullptr);  // last key gone: resource gone
  EXPECT_EQ(after->config(ConfigResourceType::kBroker, "")->at("log.retention.ms"), "6000");
  // Untouched resource shared with the old image.
  EXPECT_EQ(after->config(ConfigResourceType::kBroker, "1"), image->config(ConfigResourceType::kBroker, "1"));
}

TEST(MetadataDelta, CopyOnWriteLeavesOldImagesUnchanged) {
  Uuid a = Uuid::random(), b = Uuid::random();
  auto v1 = replay(empty_image(), {{protocol::TopicRecord{.name = "a", .topic_id = a}, 0},
                                   {partition(a, 0, {1}), 0},
                                   {protocol::TopicRecord{.name = "b", .topic_id = b}, 0},
                                   {partition(b, 0, {1}), 0}});
  protocol::PartitionChangeRecord change{.partition_id = 0, .topic_id = a};
  change.isr = std::vector<int32_t>{};
  auto v2 = replay(v1, {{change, 0}, {partition(a, 1, {1}), 0}}, 4);
  EXPECT_EQ(v1->topic("a")->partitions.size(), 1u);
  EXPECT_EQ(v1->topic("a")->partition(0)->isr, (std::vector<int32_t>{1}));
  EXPECT_EQ(v1->topic("a")->partition(0)->partition_epoch, 0);
  EXPECT_EQ(v2->topic("a")->partitions.size(), 2u);
  EXPECT_TRUE(v2->topic("a")->partition(0)->isr.empty());
  EXPECT_EQ(v1->topics->by_name.at("b"), v2->topics->by_name.at("b"));  // untouched topic shared
  EXPECT_NE(v1->topics->by_name.at("a"), v2->topics->by_name.at("a"));
  EXPECT_EQ(v1->offset, 3);
  EXPECT_EQ(v2->offset, 5);
  // A config-only change shares the whole topics table.
  auto v3 = replay(v2, {{config(ConfigResourceType::kBroker, "", "x", "y"), 0}}, 6);
  EXPECT_EQ(v3->topics, v2->topics);
  EXPECT_EQ(v2->config(ConfigResourceType::kBroker, ""), nullptr);
}

TEST(MetadataDelta, DeltaKeepsWorkingAfterApply) {
  Uuid a = Uuid::random();
  MetadataDelta delta(empty_image());
  delta.replay(frame({protocol::TopicRecord{.name = "a", .topic_id = a}, 0}), 0);
  auto first = delta.apply();
  delta.replay(frame({partition(a, 0, {1}), 0}), 1);
  auto second = delta.apply();
  EXPECT_TRUE(first->topic("a")->partitions.empty());
  EXPECT_EQ(second->topic("a")->partitions.size(), 1u);
}

TEST(MetadataDelta, BrokersFeaturesAndProducerIds) {
  protocol::RegisterBrokerRecord reg;
  reg.broker_id = 1;
  reg.broker_epoch = 7;
  reg.rack = std::nullopt;
  reg.end_points.push_back({.name = "PLAINTEXT", .host = "h", .port = 9092, .security_protocol = 0});
  reg.features.push_back({.name = "metadata.version", .min_supported_version = 7, .max_supported_version = 21});
  auto image = replay(empty_image(), {{protocol::FeatureLevelRecord{.name = "metadata.version", .feature_level = 21}, 0},
                                      {reg, 3},
                                      {protocol::UnfenceBrokerRecord{.id = 1, .epoch = 7}, 0},
                                      {protocol::ProducerIdsRecord{.broker_id = 1, .broker_epoch = 7,
                                                                   .next_producer_id = 1000}, 0}});
  EXPECT_EQ(image->metadata_version, 21);
  EXPECT_EQ(image->features_epoch, 0);
  ASSERT_TRUE(image->brokers.contains(1));
  const BrokerRegistration& b = image->brokers.at(1);
  EXPECT_FALSE(b.fenced);
  EXPECT_EQ(b.epoch, 7);
  ASSERT_EQ(b.endpoints.size(), 1u);
  EXPECT_EQ(b.endpoints[0].security_protocol, "PLAINTEXT");
  EXPECT_EQ(b.supported_features.at("metadata.version"), (std::pair<int16_t, int16_t>{7, 21}));
  EXPECT_EQ(image->next_producer_id, 1000);
  EXPECT_EQ(image->client_visible_controller_id(), 1);

  // A fence with a stale epoch is ignored; the right one applies.
  auto fenced = replay(image, {{protocol::FenceBrokerRecord{.id = 1, .epoch = 6}, 0}}, 4);
  EXPECT_FALSE(fenced->brokers.at(1).fenced);
  protocol::BrokerRegistrationChangeRecord change{.broker_id = 1, .broker_epoch = 7, .fenced = 1};
  fenced = replay(image, {{change, 1}}, 4);
  EXPECT_TRUE(fenced->brokers.at(1).fenced);
  auto gone = replay(fenced, {{protocol::UnregisterBrokerRecord{.broker_id = 1, .broker_epoch = 7}, 0}}, 5);
  EXPECT_TRUE(gone->brokers.empty());
}

TEST(MetadataDelta, UnknownRecordTypeIsSkipped) {
  protocol::WireWriter w;
  w.uvarint(1);   // frame version
  w.uvarint(99);  // record type nobody defines
  w.uvarint(0);
  w.int32(12345);
  std::vector<uint8_t> bytes = w.take();
  MetadataDelta delta(empty_image());
  EXPECT_FALSE(delta.replay(bytes, 41));
  auto image = delta.apply();
  EXPECT_EQ(image->offset, 41);
  EXPECT_TRUE(image->topics->by_id.empty());
}

TEST(MetadataDelta, MalformedRecordThrowsDecodeError) {
  Uuid id = Uuid::random();
  std::vector<uint8_t> bytes = frame({protocol::TopicRecord{.name = "t", .topic_id = id}, 0});
  MetadataDelta delta(empty_image());
  std::vector<uint8_t> truncated(bytes.begin(), bytes.end() - 3);
  EXPECT_THROW(delta.replay(truncated, 0), protocol::DecodeError);
  std::vector<uint8_t> trailing = bytes;
  trailing.push_back(0);
  EXPECT_THROW(delta.replay(trailing, 0), protocol::DecodeError);
  std::vector<uint8_t> bad_frame = bytes;
  bad_frame[0] = 9;  // frame version
  EXPECT_THROW(delta.replay(bad_frame, 0), protocol::DecodeError);
  std::vector<uint8_t> bad_version = bytes;
  bad_version[2] = 5;  // TopicRecord has only version 0
  EXPECT_THROW(delta.replay(bad_version, 0), protocol::DecodeError);
}

TEST(MetadataDelta, RoundTripThroughRecordBatches) {
  Uuid id = Uuid::random();
  std::vector<RecordAndVersion> first = {{protocol::TopicRecord{.name = "t", .topic_id = id}, 0},
                                         {partition(id, 0, {1}), 0}};
  std::vector<RecordAndVersion> second = {{config(ConfigResourceType::kTopic, "t", "segment.ms", "1000"), 0}};
  protocol::WireWriter log;
  auto add_batch = [&](int64_t base, const std::vector<RecordAndVersion>& records, bool control) {
    protocol::RecordBatchBuilder builder({.base_offset = base, .control = control});
    for (const auto& r : records) {
      std::vector<uint8_t> value = frame(r);
      builder.append(1000, std::nullopt, std::span<const uint8_t>(value));
    }
    builder.build_into(log);
  };
  add_batch(0, first, false);
  add_batch(2, {{protocol::NoOpRecord{}, 0}}, true);  // control batch: skipped
  add_batch(3, second, false);
  std::vector<uint8_t> bytes = log.take();

  auto images = apply_batches(empty_image(), bytes);
  ASSERT_EQ(images.size(), 2u);
  EXPECT_EQ(images[0]->offset, 1);
  EXPECT_NE(images[0]->topic("t"), nullptr);
  EXPECT_EQ(images[0]->config(ConfigResourceType::kTopic, "t"), nullptr);
  EXPECT_EQ(images[1]->offset, 3);
  EXPECT_EQ(images[1]->config(ConfigResourceType::kTopic, "t")->at("segment.ms"), "1000");
  EXPECT_EQ(images[1]->topic("t")->partition(0)->leader, 1);
}

}  // namespace
}  // namespace samsa::broker::metadata
