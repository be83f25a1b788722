// WriteTxnMarkers (key 27) through the dispatcher against a real
// ReplicaManager: markers end the producer's transactions (COMMIT / ABORT,
// with the coordinator epoch, announced through on_txn_marker_written), an
// older coordinator epoch is fenced, the answer mirrors the request,
// partitions not hosted here are UNKNOWN_TOPIC_OR_PARTITION, hosted
// followers NOT_LEADER_OR_FOLLOWER, and ApiVersions advertises Kafka's 0-1.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>

#include "produce_fetch_fixture.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/txn/txn_marker_written.h"
#include "samsa/protocol/control_records.h"
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

  // A transactional batch of producer `pid` (epoch 0) appended to t-<partition>.
  void append_txn(int32_t partition, int64_t pid, int32_t seq, int n) {
    protocol::RecordBatchOptions o;
    o.producer_id = pid;
    o.producer_epoch = 0;
    o.base_sequence = seq;
    o.transactional = true;
    protocol::RecordBatchBuilder b(o);
    for (int i = 0; i < n; ++i) {
      std::string v = "v" + std::to_string(i);
      b.append(1000 + i, std::nullopt, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
    }
    auto bytes = b.build();
    ASSERT_TRUE(pm->get("t", partition)->append_as_leader(std::span<uint8_t>(bytes), 1).ok());
  }

  // The marker of the control batch at `offset` of t-<partition>.
  std::optional<protocol::EndTxnMarker> marker_at(int32_t partition, int64_t offset) {
    auto resp = call<protocol::FetchResponse>(1, 11, fetch_req(offset, 11, {partition}));
    const auto& records = resp.responses.at(0).partitions.at(0).records;
    for (const auto& b : protocol::split_batches(records.bytes(), true).batches)
      if (b.header.base_offset == offset && b.header.is_control()) return protocol::parse_end_txn_marker(b);
    return std::nullopt;
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

TEST_F(WriteTxnMarkersTest, MarkersEndTransactionsAndAreAnnounced) {
  std::mutex mu;
  std::vector<txn::TxnMarkerWritten> written;
  services.on_txn_marker_written = [&](const txn::TxnMarkerWritten& w) {
    std::lock_guard lock(mu);
    written.push_back(w);
  };
  append_txn(0, 7, 0, 2);
  append_txn(1, 8, 0, 3);
  EXPECT_EQ(pm->get("t", 0)->log()->last_stable_offset(), 0);

  WriteTxnMarkersRequest req;
  req.markers.push_back(marker(7, true, {{"t", {0}}}, 4));
  req.markers.push_back(marker(8, false, {{"t", {1}}}, 4));
  auto resp = call<WriteTxnMarkersResponse>(kKey, 1, req);
  ASSERT_EQ(resp.markers.size(), 2u);
  EXPECT_EQ(resp.markers[0].topics[0].partitions[0].error_code, protocol::code(ErrorCode::NONE));
  EXPECT_EQ(resp.markers[1].topics[0].partitions[0].error_code, protocol::code(ErrorCode::NONE));

  // The markers follow the data; nothing is open any more.
  EXPECT_EQ(pm->get("t", 0)->log_end_offset(), 3);
  EXPECT_EQ(pm->get("t", 1)->log_end_offset(), 4);
  EXPECT_EQ(pm->get("t", 0)->log()->last_stable_offset(), 3);
  EXPECT_EQ(pm->get("t", 1)->log()->last_stable_offset(), 4);
  EXPECT_EQ(marker_at(0, 2), (protocol::EndTxnMarker{true, 4}));
  EXPECT_EQ(marker_at(1, 3), (protocol::EndTxnMarker{false, 4}));
  auto aborted = pm->get("t", 1)->log()->collect_aborted_transactions(0, 4);
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(aborted[0].producer_id, 8);
  EXPECT_EQ(aborted[0].first_offset, 0);
  EXPECT_TRUE(pm->get("t", 0)->log()->collect_aborted_transactions(0, 3).empty());

  std::lock_guard lock(mu);
  ASSERT_EQ(written.size(), 2u);
  std::sort(written.begin(), written.end(), [](const auto& a, const auto& b) { return a.partition < b.partition; });
  EXPECT_EQ(written[0].topic, "t");
  EXPECT_EQ(written[0].partition, 0);
  EXPECT_EQ(written[0].producer_id, 7);
  EXPECT_EQ(written[0].producer_epoch, 0);
  EXPECT_TRUE(written[0].commit);
  EXPECT_EQ(written[0].marker_offset, 2);
  EXPECT_EQ(written[1].partition, 1);
  EXPECT_EQ(written[1].producer_id, 8);
  EXPECT_FALSE(written[1].commit);
  EXPECT_EQ(written[1].marker_offset, 3);
}

TEST_F(WriteTxnMarkersTest, OlderCoordinatorEpochsAreFencedAndNotAnnounced) {
  int announced = 0;
  services.on_txn_marker_written = [&](const txn::TxnMarkerWritten&) { ++announced; };
  append_txn(0, 7, 0, 1);
  WriteTxnMarkersRequest first;
  first.markers.push_back(marker(7, true, {{"t", {0}}}, 6));
  EXPECT_EQ(call<WriteTxnMarkersResponse>(kKey, 1, first).markers[0].topics[0].partitions[0].error_code,
            protocol::code(ErrorCode::NONE));
  append_txn(0, 7, 1, 1);
  WriteTxnMarkersRequest stale;
  stale.markers.push_back(marker(7, false, {{"t", {0}}}, 5));
  EXPECT_EQ(call<WriteTxnMarkersResponse>(kKey, 1, stale).markers[0].topics[0].partitions[0].error_code,
            protocol::code(ErrorCode::TRANSACTION_COORDINATOR_FENCED));
  EXPECT_EQ(pm->get("t", 0)->log_end_offset(), 3);  // nothing appended
  EXPECT_EQ(announced, 1);
}

}  // namespace
}  // namespace samsa::broker
