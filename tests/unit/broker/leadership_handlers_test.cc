// ElectLeaders, AlterPartitionReassignments and ListPartitionReassignments
// through the dispatcher on a node that is the active controller (the
// fixture's fake controller commits the decided records), at every
// advertised version, and NOT_CONTROLLER from a controller listener of a
// node that is not active.
#include "admin_test_fixture.h"
#include "samsa/protocol/gen/alter_partition_reassignments_request.h"
#include "samsa/protocol/gen/alter_partition_reassignments_response.h"
#include "samsa/protocol/gen/create_topics_request.h"
#include "samsa/protocol/gen/create_topics_response.h"
#include "samsa/protocol/gen/elect_leaders_request.h"
#include "samsa/protocol/gen/elect_leaders_response.h"
#include "samsa/protocol/gen/list_partition_reassignments_request.h"
#include "samsa/protocol/gen/fetch_request.h"
#include "samsa/protocol/gen/fetch_response.h"
#include "samsa/protocol/gen/list_partition_reassignments_response.h"
#include "samsa/protocol/gen/produce_request.h"
#include "samsa/protocol/gen/produce_response.h"
#include "samsa/protocol/record_batch.h"

namespace samsa::broker::test {
namespace {

using protocol::ErrorCode;
namespace p = protocol;
using V = std::vector<int32_t>;

class LeadershipHandlersTest : public AdminTest {
 protected:
  void create_topic(const std::string& name, V replicas) {
    p::CreateTopicsRequest req;
    p::CreateTopicsRequest::CreatableTopic t;
    t.name = name;
    t.num_partitions = -1;
    t.replication_factor = -1;
    p::CreateTopicsRequest::CreatableTopic::CreatableReplicaAssignment a;
    a.partition_index = 0;
    a.broker_ids = std::move(replicas);
    t.assignments.push_back(a);
    req.topics.push_back(t);
    auto resp = call<p::CreateTopicsResponse>(19, 7, req);
    ASSERT_EQ(resp.topics.size(), 1u);
    ASSERT_EQ(resp.topics[0].error_code, 0) << resp.topics[0].error_message.value_or("");
  }
  p::AlterPartitionReassignmentsResponse reassign(const std::string& topic, int32_t partition,
                                                  std::optional<V> replicas) {
    p::AlterPartitionReassignmentsRequest req;
    p::AlterPartitionReassignmentsRequest::ReassignableTopic t;
    t.name = topic;
    p::AlterPartitionReassignmentsRequest::ReassignableTopic::ReassignablePartition rp;
    rp.partition_index = partition;
    rp.replicas = std::move(replicas);
    t.partitions.push_back(rp);
    req.topics.push_back(t);
    return call<p::AlterPartitionReassignmentsResponse>(45, 0, req);
  }
  int16_t reassign_error(const std::string& topic, int32_t partition, std::optional<V> replicas) {
    auto resp = reassign(topic, partition, std::move(replicas));
    EXPECT_EQ(resp.responses.size(), 1u);
    if (resp.responses.empty() || resp.responses[0].partitions.empty()) return -1;
    return resp.responses[0].partitions[0].error_code;
  }
  p::ListPartitionReassignmentsResponse list(ListenerKind kind = ListenerKind::kBroker) {
    p::ListPartitionReassignmentsRequest req;
    req.topics = std::nullopt;
    return call<p::ListPartitionReassignmentsResponse>(46, 0, req, kind);
  }
};

TEST_F(LeadershipHandlersTest, ReassignListAndCancel) {
  unfence_all();
  create_topic("moving", {1});
  EXPECT_EQ(reassign_error("moving", 0, V{2}), 0);
  const PartitionImage* part = image()->topic("moving")->partition(0);
  EXPECT_EQ(part->replicas, V({2, 1}));
  EXPECT_EQ(part->adding_replicas, V({2}));
  auto listed = list();
  EXPECT_EQ(listed.error_code, 0);
  ASSERT_EQ(listed.topics.size(), 1u);
  ASSERT_EQ(listed.topics[0].partitions.size(), 1u);
  EXPECT_EQ(listed.topics[0].partitions[0].adding_replicas, V({2}));
  EXPECT_EQ(listed.topics[0].partitions[0].removing_replicas, V({1}));

  EXPECT_EQ(reassign_error("moving", 0, std::nullopt), 0);
  EXPECT_EQ(image()->topic("moving")->partition(0)->replicas, V({1}));
  EXPECT_TRUE(list().topics.empty());
  EXPECT_EQ(reassign_error("moving", 0, std::nullopt), p::code(ErrorCode::NO_REASSIGNMENT_IN_PROGRESS));
  EXPECT_EQ(reassign_error("moving", 0, V{7}), p::code(ErrorCode::INVALID_REPLICA_ASSIGNMENT));
  EXPECT_EQ(reassign_error("nope", 0, V{1}), p::code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
}

TEST_F(LeadershipHandlersTest, ElectLeadersAtEveryVersion) {
  unfence_all();
  create_topic("e", {1, 2});
  for (int16_t v = 0; v <= 2; ++v) {
    p::ElectLeadersRequest req;
    req.election_type = 0;
    p::ElectLeadersRequest::TopicPartitions tp;
    tp.topic = "e";
    tp.partitions = {0, 3};
    req.topic_partitions = std::vector<p::ElectLeadersRequest::TopicPartitions>{tp};
    auto resp = call<p::ElectLeadersResponse>(43, v, req);
    EXPECT_EQ(resp.error_code, 0);
    ASSERT_EQ(resp.replica_election_results.size(), 1u);
    const auto& results = resp.replica_election_results[0].partition_result;
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0].error_code, p::code(ErrorCode::ELECTION_NOT_NEEDED));
    EXPECT_EQ(results[1].error_code, p::code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  }
  // Leadership moved to 2 (as a fencing would); the preferred election
  // brings it back to 1 with a new leader epoch.
  {
    MetadataImage moved = *image();
    auto topics = std::make_shared<TopicsImage>(*moved.topics);
    auto topic = std::make_shared<TopicImage>(*topics->by_name.at("e"));
    topic->partitions.at(0).leader = 2;
    topics->by_name["e"] = topic;
    topics->by_id[topic->id] = topic;
    moved.topics = topics;
    services.metadata.publish(std::make_shared<const MetadataImage>(moved));
  }
  const int32_t epoch = image()->topic("e")->partition(0)->leader_epoch;
  p::ElectLeadersRequest all;
  all.election_type = 0;
  all.topic_partitions = std::nullopt;
  auto resp = call<p::ElectLeadersResponse>(43, 2, all);
  ASSERT_EQ(resp.replica_election_results.size(), 1u);
  ASSERT_EQ(resp.replica_election_results[0].partition_result.size(), 1u);
  EXPECT_EQ(resp.replica_election_results[0].partition_result[0].error_code, 0);
  EXPECT_EQ(image()->topic("e")->partition(0)->leader, 1);
  EXPECT_EQ(image()->topic("e")->partition(0)->leader_epoch, epoch + 1);
}

TEST_F(LeadershipHandlersTest, NotControllerOnAnInactiveControllerListener) {
  controller.is_active = false;
  EXPECT_EQ(list(ListenerKind::kController).error_code, p::code(ErrorCode::NOT_CONTROLLER));
  p::ElectLeadersRequest req;
  req.topic_partitions = std::nullopt;
  auto resp = call<p::ElectLeadersResponse>(43, 2, req, ListenerKind::kController);
  EXPECT_EQ(resp.error_code, p::code(ErrorCode::NOT_CONTROLLER));
}

// KIP-951: turned away from a partition another broker leads, a client
// learns the leader and where it listens from the Produce / Fetch answer.
TEST_F(LeadershipHandlersTest, NotLeaderAnswersNameTheLeaderAndItsEndpoint) {
  unfence_all();
  create_topic("elsewhere", {2});
  protocol::RecordBatchBuilder b;
  std::vector<uint8_t> value = {'v'};
  b.append(1700000000000, std::nullopt, std::span<const uint8_t>(value));
  auto bytes = std::make_shared<std::vector<uint8_t>>(b.build());
  p::ProduceRequest produce;
  produce.acks = 1;
  produce.timeout_ms = 1000;
  auto& t = produce.topic_data.emplace_back();
  t.name = "elsewhere";
  auto& pd = t.partition_data.emplace_back();
  pd.index = 0;
  pd.records = protocol::Records::borrow(*bytes, bytes);
  const int32_t epoch = image()->topic("elsewhere")->partition(0)->leader_epoch;
  for (int16_t v : {9, 11}) {
    auto resp = call<p::ProduceResponse>(0, v, produce);
    const auto& part = resp.responses.at(0).partition_responses.at(0);
    EXPECT_EQ(part.error_code, p::code(ErrorCode::NOT_LEADER_OR_FOLLOWER));
    if (v < 10) {
      EXPECT_TRUE(resp.node_endpoints.empty());  // not on the wire before v10
      continue;
    }
    EXPECT_EQ(part.current_leader.leader_id, 2);
    EXPECT_EQ(part.current_leader.leader_epoch, epoch);
    ASSERT_EQ(resp.node_endpoints.size(), 1u);
    EXPECT_EQ(resp.node_endpoints[0].node_id, 2);
    EXPECT_EQ(resp.node_endpoints[0].host, "127.0.0.1");
    EXPECT_EQ(resp.node_endpoints[0].port, 9093);
  }

  p::FetchRequest fetch;
  fetch.max_wait_ms = 0;
  fetch.min_bytes = 1;
  fetch.max_bytes = 1 << 20;
  fetch.session_epoch = -1;
  auto& ft = fetch.topics.emplace_back();
  ft.topic = "elsewhere";
  ft.topic_id = image()->topic("elsewhere")->id;
  auto& fp = ft.partitions.emplace_back();
  fp.partition = 0;
  fp.fetch_offset = 0;
  fp.partition_max_bytes = 1 << 20;
  auto resp = call<p::FetchResponse>(1, 16, fetch);
  const auto& part = resp.responses.at(0).partitions.at(0);
  EXPECT_EQ(part.error_code, p::code(ErrorCode::NOT_LEADER_OR_FOLLOWER));
  EXPECT_EQ(part.current_leader.leader_id, 2);
  ASSERT_EQ(resp.node_endpoints.size(), 1u);
  EXPECT_EQ(resp.node_endpoints[0].node_id, 2);
  EXPECT_EQ(resp.node_endpoints[0].port, 9093);
}

}  // namespace
}  // namespace samsa::broker::test
