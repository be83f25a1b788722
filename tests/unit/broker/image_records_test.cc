// A snapshot's records rebuild the image they were taken from.
#include "samsa/broker/metadata/image_records.h"

#include <gtest/gtest.h>

#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata/metadata_delta.h"
#include "samsa/broker/metadata/replica_placer.h"

namespace samsa::broker::metadata {
namespace {

std::shared_ptr<const MetadataImage> apply_all(std::shared_ptr<const MetadataImage> base,
                                               const std::vector<RecordAndVersion>& records) {
  MetadataDelta delta(std::move(base));
  int64_t offset = 0;
  for (const auto& r : records) delta.replay(r, offset++);
  return delta.apply();
}

TEST(ImageRecords, RecordsOfAnImageRebuildAnEqualImage) {
  auto image = apply_all(std::make_shared<const MetadataImage>(), bootstrap_records(21));
  BrokerRegistrationInput broker;
  broker.broker_id = 1;
  broker.incarnation_id = protocol::Uuid::random();
  broker.listeners.push_back(BrokerEndpoint{"PLAINTEXT", "127.0.0.1", 9092, "PLAINTEXT"});
  broker.features.push_back({"metadata.version", {7, 21}});
  broker.rack = "r1";
  broker.log_dirs.push_back(protocol::Uuid::random());
  auto reg = register_broker(*image, broker, 10);
  ASSERT_TRUE(reg.error.ok()) << reg.error.message;
  image = apply_all(image, reg.records);
  image = apply_all(image, {std::get<RecordAndVersion>(fence_broker(*image, 1, false))});

  ControllerDefaults defaults;
  ReplicaPlacer placer(42);
  std::vector<CreatableTopic> topics = {{"alpha", 3, 1, {}, {{"retention.ms", "1000"}}}, {"beta", 1, 1, {}, {}}};
  auto created = create_topics(*image, topics, false, defaults, placer);
  image = apply_all(image, created.records);
  auto ids = allocate_producer_ids(*image, 1, image->brokers.at(1).epoch);
  ASSERT_TRUE(ids.error.ok()) << ids.error.message;
  image = apply_all(image, ids.records);

  auto rebuilt = apply_all(std::make_shared<const MetadataImage>(), image_to_records(*image));
  EXPECT_EQ(rebuilt->metadata_version, image->metadata_version);
  EXPECT_EQ(rebuilt->next_producer_id, image->next_producer_id);
  ASSERT_EQ(rebuilt->brokers.size(), 1u);
  const auto& b = rebuilt->brokers.at(1);
  const auto& original = image->brokers.at(1);
  EXPECT_EQ(b.fenced, original.fenced);
  EXPECT_EQ(b.epoch, original.epoch);
  EXPECT_EQ(b.incarnation_id, original.incarnation_id);
  EXPECT_EQ(b.rack, original.rack);
  EXPECT_EQ(b.log_dirs, original.log_dirs);
  ASSERT_EQ(b.endpoints.size(), 1u);
  EXPECT_EQ(b.endpoints[0].port, 9092);
  ASSERT_EQ(rebuilt->topics->by_name.size(), 2u);
  for (const auto& [name, topic] : image->topics->by_name) {
    const TopicImage* t = rebuilt->topic(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->id, topic->id);
    EXPECT_EQ(t->partitions, topic->partitions);
  }
  ASSERT_NE(rebuilt->config(ConfigResourceType::kTopic, "alpha"), nullptr);
  EXPECT_EQ(*rebuilt->config(ConfigResourceType::kTopic, "alpha"), *image->config(ConfigResourceType::kTopic, "alpha"));
}

}  // namespace
}  // namespace samsa::broker::metadata
