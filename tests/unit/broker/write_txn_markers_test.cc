// WriteTxnMarkers (key 27) through the dispatcher against a real
// ReplicaManager: the answer mirrors the request, partitions not hosted
// here are UNKNOWN_TOPIC_OR_PARTITION, hosted followers
// NOT_LEADER_OR_FOLLOWER, and ApiVersions advertises Kafka's 0-1.
#include <gtest/gtest.h>

#include "produce_fetch_fixture.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/gen/write_txn_markers_request.h"
#include "samsa/protocol/gen/write_txn_markers_response.h"

namespace samsa::broker {
namespace {

using protocol::WriteTxnMarkersRequest;
using protocol::WriteTxnMarkersResponse;
constexpr int16_t kKey = 27;

class WriteTxnMarkersTest : public ProduceFetchTest {
 protected:
  // Adds topic "f", hosted here (replica 1) but led by broker 2.
  void add_followed_topic() {
    auto image = std::make_shared<MetadataImage>(*services.metadata.current());
    auto topic = std::make_shared<TopicImage>();
    topic->name = "f";
    topic->id.bytes[15] = 9;
    PartitionImage pi;
    pi.partition_id = 0;
    pi.replicas = {2, 1};
    pi.isr = {2, 1};
    pi.leader = 2;
    pi.leader_epoch = 5;
    topic->partitions.emplace(0, pi);
    auto topics = std::make_shared<TopicsImage>(*image->topics);
    topics->by_name.emplace("f", topic);
    topics->by_id.emplace(topic->id, topic);
    image->topics = topics;
    services.metadata.publish(image);
    pm->apply(*image);
  }

  static WriteTxnMarkersRequest::WritableTxnMarker marker(int64_t pid, bool commit,
                                                          std::vector<std::pair<std::string, std::vector<int32_t>>> tps,
                                                          int32_t coordinator_epoch = 0) {
    WriteTxnMarkersRequest::WritableTxnMarker m;
    m.producer_id = pid;
    m.producer_epoch = 0;
    m.transaction_result = commit;
    m.coordinator_epoch = coordinator_epoch;
    for (auto& [name, parts] : tps) {
      auto& t = m.topics.emplace_back();
      t.name = name;
      t.partition_indexes = parts;
    }
    return m;
  }
};

TEST_F(WriteTxnMarkersTest, AdvertisedAtKafkaVersionsOnTheBrokerListenerOnly) {
  const ApiHandler* h = find_handler(kKey, ListenerKind::kBroker);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->min_version, 0);
  EXPECT_EQ(h->max_version, 1);
  EXPECT_EQ(find_handler(kKey, ListenerKind::kController), nullptr);
}

TEST_F(WriteTxnMarkersTest, EmptyRequestGetsEmptyAnswer) {
  for (int16_t v : {0, 1}) {
    auto resp = call<WriteTxnMarkersResponse>(kKey, v, WriteTxnMarkersRequest{});
    EXPECT_TRUE(resp.markers.empty());
  }
}

TEST_F(WriteTxnMarkersTest, PartitionsNotHostedAreUnknownAndFollowersAreNotLeader) {
  add_followed_topic();
  WriteTxnMarkersRequest req;
  req.markers.push_back(marker(7, true, {{"nope", {0, 3}}, {"f", {0}}}));
  req.markers.push_back(marker(8, false, {{"t", {5}}}));
  for (int16_t v : {0, 1}) {
    auto resp = call<WriteTxnMarkersResponse>(kKey, v, req);
    ASSERT_EQ(resp.markers.size(), 2u);
    EXPECT_EQ(resp.markers[0].producer_id, 7);
    ASSERT_EQ(resp.markers[0].topics.size(), 2u);
    EXPECT_EQ(resp.markers[0].topics[0].name, "nope");
    ASSERT_EQ(resp.markers[0].topics[0].partitions.size(), 2u);
    EXPECT_EQ(resp.markers[0].topics[0].partitions[0].partition_index, 0);
    EXPECT_EQ(resp.markers[0].topics[0].partitions[1].partition_index, 3);
    for (const auto& p : resp.markers[0].topics[0].partitions)
      EXPECT_EQ(p.error_code, protocol::code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
    EXPECT_EQ(resp.markers[0].topics[1].name, "f");
    ASSERT_EQ(resp.markers[0].topics[1].partitions.size(), 1u);
    EXPECT_EQ(resp.markers[0].topics[1].partitions[0].error_code, protocol::code(ErrorCode::NOT_LEADER_OR_FOLLOWER));
    EXPECT_EQ(resp.markers[1].producer_id, 8);
    ASSERT_EQ(resp.markers[1].topics.size(), 1u);
    EXPECT_EQ(resp.markers[1].topics[0].partitions[0].error_code,
              protocol::code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  }
  // Nothing was written to the follower's log.
  EXPECT_EQ(pm->get("f", 0)->log_end_offset(), 0);
}

}  // namespace
}  // namespace samsa::broker
