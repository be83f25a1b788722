// The leader side of replication through the dispatcher: acks=all produces
// wait for the ISR (follower fetches move the high watermark), consumers see
// only replicated records, follower fetches read to the log end, are refused
// to non-replicas and answer a diverging epoch (fixture:
// produce_fetch_fixture.h; partition 0 of "t" gets replicas {1, 2}).
#include "produce_fetch_fixture.h"

namespace samsa::broker {
namespace {

using protocol::ErrorCode;
using protocol::FetchResponse;
using protocol::ProduceResponse;

class ReplicationHandlersTest : public ProduceFetchTest {
 protected:
  ReplicationHandlersTest() {
    auto current = services.metadata.current();
    auto image = std::make_shared<MetadataImage>(*current);
    for (int32_t id : {1, 2}) {
      BrokerRegistration b;
      b.id = id;
      b.epoch = 10 + id;
      image->brokers.emplace(id, b);
    }
    auto topic = std::make_shared<TopicImage>(*image->topic("t"));
    auto& p = topic->partitions.at(0);
    p.replicas = {1, 2};
    p.isr = {1, 2};
    p.partition_epoch = 1;
    auto topics = std::make_shared<TopicsImage>(*image->topics);
    topics->by_name["t"] = topic;
    topics->by_id[topic->id] = topic;
    image->topics = topics;
    services.metadata.publish(image);
    pm->apply(*image);
  }

  // A Fetch v15 from broker `replica` (ReplicaState with its broker epoch).
  FetchResponse::FetchableTopicResponse::PartitionData follower_fetch(int32_t replica, int64_t offset,
                                                                      int32_t last_fetched_epoch = -1) {
    auto req = fetch_req(offset, 15);
    req.replica_state.replica_id = replica;
    req.replica_state.replica_epoch = 10 + replica;
    req.topics[0].partitions[0].last_fetched_epoch = last_fetched_epoch;
    req.topics[0].partitions[0].current_leader_epoch = 3;
    auto resp = call<FetchResponse>(1, 15, req);
    return resp.responses.at(0).partitions.at(0);
  }

  FetchResponse::FetchableTopicResponse::PartitionData consumer_fetch(int64_t offset) {
    auto resp = call<FetchResponse>(1, 12, fetch_req(offset, 12));
    return resp.responses.at(0).partitions.at(0);
  }
};

TEST_F(ReplicationHandlersTest, AcksAllIsAnsweredOnceTheFollowerHasTheRecords) {
  auto produce = send(0, 9, produce_req(batch(3)));
  EXPECT_FALSE(produce->wait(std::chrono::milliseconds(100))) << "the follower has nothing yet";
  // The consumer sees nothing the ISR does not have.
  auto c = consumer_fetch(0);
  EXPECT_EQ(c.high_watermark, 0);
  EXPECT_EQ(c.records.size(), 0u);

  auto f = follower_fetch(2, 0);
  EXPECT_EQ(f.error_code, 0);
  EXPECT_EQ(values(f.records).size(), 3u) << "a follower reads to the log end";
  EXPECT_EQ(f.high_watermark, 0);
  EXPECT_FALSE(produce->wait(std::chrono::milliseconds(50)));

  auto again = follower_fetch(2, 3);
  EXPECT_EQ(again.high_watermark, 3) << "the fetch that moved it carries the new high watermark";
  ASSERT_TRUE(produce->wait(std::chrono::seconds(5)));
  auto resp = decode<ProduceResponse>(*produce->reply, 0, 9);
  EXPECT_EQ(resp.responses[0].partition_responses[0].error_code, 0);
  EXPECT_EQ(resp.responses[0].partition_responses[0].base_offset, 0);
  EXPECT_EQ(values(consumer_fetch(0).records).size(), 3u);
  EXPECT_EQ(fetch_waiters(&services).size(), 0u);
}

TEST_F(ReplicationHandlersTest, AcksAllTimesOutWithoutTheFollower) {
  auto req = produce_req(batch(1));
  req.timeout_ms = 150;
  auto start = std::chrono::steady_clock::now();
  auto resp = call<ProduceResponse>(0, 9, req);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(140));
  EXPECT_EQ(resp.responses[0].partition_responses[0].error_code, protocol::code(ErrorCode::REQUEST_TIMED_OUT));
  // acks=1 does not wait.
  auto one = call<ProduceResponse>(0, 9, produce_req(batch(1), 0, 1));
  EXPECT_EQ(one.responses[0].partition_responses[0].error_code, 0);
  EXPECT_EQ(one.responses[0].partition_responses[0].base_offset, 1);
}

TEST_F(ReplicationHandlersTest, OnlyReplicasFetchAsFollowers) {
  EXPECT_EQ(follower_fetch(3, 0).error_code, protocol::code(ErrorCode::NOT_LEADER_OR_FOLLOWER));
  auto req = fetch_req(0, 15);
  req.replica_state.replica_id = 2;
  req.topics[0].partitions[0].current_leader_epoch = 2;
  auto resp = call<FetchResponse>(1, 15, req);
  EXPECT_EQ(resp.responses[0].partitions[0].error_code, protocol::code(ErrorCode::FENCED_LEADER_EPOCH));
}

TEST_F(ReplicationHandlersTest, DivergingFollowerIsToldWhereToTruncate) {
  auto produce = send(0, 9, produce_req(batch(3)));
  follower_fetch(2, 0);
  follower_fetch(2, 3);
  ASSERT_TRUE(produce->wait(std::chrono::seconds(5)));
  // The follower wrote offsets 3-4 in epoch 2, which this leader (epoch 3
  // from offset 0) never had: it must truncate to offset 0.
  auto d = follower_fetch(2, 5, 2);
  EXPECT_EQ(d.error_code, 0);
  EXPECT_EQ(d.diverging_epoch.epoch, 2);
  EXPECT_EQ(d.diverging_epoch.end_offset, 0);
  EXPECT_EQ(d.records.size(), 0u);
  EXPECT_EQ(d.high_watermark, 3);
  // In the same epoch, it does not diverge.
  auto same = follower_fetch(2, 3, 3);
  EXPECT_EQ(same.diverging_epoch.epoch, -1);
  EXPECT_EQ(same.error_code, 0);
}

}  // namespace
}  // namespace samsa::broker
