// AlterPartition as the controller decides it (metadata::alter_partition):
// Kafka's validation order and error codes by version, the records and the
// state answered.
#include "samsa/broker/metadata/alter_partition.h"

#include <gtest/gtest.h>

#include "replication_control_fixture.h"

namespace samsa::broker::metadata {
namespace {

using namespace rctest;
using protocol::AlterPartitionRequest;
using protocol::ErrorCode;
using V = std::vector<int32_t>;

struct Ask {
  int32_t leader_epoch = 0;
  int32_t partition_epoch = 0;
  std::vector<std::pair<int32_t, int64_t>> isr;
  int8_t recovery = 0;
};

AlterPartitionRequest request(const MetadataImage& image, int32_t sender, const protocol::Uuid& topic, const Ask& a,
                              int16_t version = 3) {
  AlterPartitionRequest r;
  r.broker_id = sender;
  r.broker_epoch = image.brokers.at(sender).epoch;
  AlterPartitionRequest::TopicData t;
  t.topic_id = topic;
  t.topic_name = image.topic(topic) ? image.topic(topic)->name : "gone";
  AlterPartitionRequest::TopicData::PartitionData p;
  p.partition_index = 0;
  p.leader_epoch = a.leader_epoch;
  p.partition_epoch = a.partition_epoch;
  p.leader_recovery_state = a.recovery;
  for (auto [id, epoch] : a.isr) {
    if (version >= 3) {
      AlterPartitionRequest::TopicData::PartitionData::BrokerState s;
      s.broker_id = id;
      s.broker_epoch = epoch;
      p.new_isr_with_epochs.push_back(s);
    } else {
      p.new_isr.push_back(id);
    }
  }
  t.partitions.push_back(p);
  r.topics.push_back(t);
  return r;
}

ErrorCode error_of(const AlterPartitionResult& r) {
  return static_cast<ErrorCode>(r.response.topics.at(0).partitions.at(0).error_code);
}

class AlterPartitionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    image = cluster(3);
    topic = add_topic(image, "t", {1, 2, 3}, {1, 2});
  }
  int64_t epoch(int32_t id) const { return image.brokers.at(id).epoch; }
  AlterPartitionResult ask(const Ask& a, int16_t version = 3, int32_t sender = 1) {
    return alter_partition(image, request(image, sender, topic, a, version), version, {});
  }
  MetadataImage image;
  protocol::Uuid topic;
};

TEST_F(AlterPartitionTest, ExpandsTheIsrWithPartitionEpochBumpAndSameLeaderEpoch) {
  auto r = ask({0, 0, {{1, epoch(1)}, {2, epoch(2)}, {3, epoch(3)}}});
  ASSERT_EQ(r.response.error_code, 0);
  ASSERT_EQ(error_of(r), ErrorCode::NONE);
  const auto& answer = r.response.topics[0].partitions[0];
  EXPECT_EQ(answer.isr, (V{1, 2, 3}));
  EXPECT_EQ(answer.leader_id, 1);
  EXPECT_EQ(answer.leader_epoch, 0);
  EXPECT_EQ(answer.partition_epoch, 1);
  ASSERT_EQ(r.records.size(), 1u);
  commit(image, r.records);
  EXPECT_EQ(part(image, "t").isr, (V{1, 2, 3}));
  EXPECT_EQ(part(image, "t").leader_epoch, 0);
  EXPECT_EQ(part(image, "t").partition_epoch, 1);
}

TEST_F(AlterPartitionTest, ShrinksTheIsr) {
  auto r = ask({0, 0, {{1, epoch(1)}}});
  ASSERT_EQ(error_of(r), ErrorCode::NONE);
  commit(image, r.records);
  EXPECT_EQ(part(image, "t").isr, (V{1}));
  EXPECT_EQ(part(image, "t").leader_epoch, 0);
}

TEST_F(AlterPartitionTest, TheSameIsrAnswersTheCurrentStateWithoutRecords) {
  auto r = ask({0, 0, {{1, -1}, {2, -1}}});
  ASSERT_EQ(error_of(r), ErrorCode::NONE);
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.response.topics[0].partitions[0].isr, (V{1, 2}));
  EXPECT_EQ(r.response.topics[0].partitions[0].partition_epoch, 0);
}

TEST_F(AlterPartitionTest, StaleOrUnknownSenderEpochIsATopLevelError) {
  auto req = request(image, 1, topic, {0, 0, {{1, -1}}});
  req.broker_epoch += 1;
  auto r = alter_partition(image, req, 3, {});
  EXPECT_EQ(r.response.error_code, protocol::code(ErrorCode::STALE_BROKER_EPOCH));
  EXPECT_TRUE(r.records.empty());
  req.broker_id = 9;
  EXPECT_EQ(alter_partition(image, req, 3, {}).response.error_code, protocol::code(ErrorCode::STALE_BROKER_EPOCH));
}

TEST_F(AlterPartitionTest, UnknownTopicByVersion) {
  auto req = request(image, 1, protocol::Uuid::random(), {0, 0, {{1, -1}}});
  EXPECT_EQ(error_of(alter_partition(image, req, 2, {})), ErrorCode::UNKNOWN_TOPIC_ID);
  req.topics[0].topic_name = "nope";
  EXPECT_EQ(error_of(alter_partition(image, req, 1, {})), ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  // v0-1 find topics by name.
  auto by_name = request(image, 1, topic, {0, 0, {{1, -1}, {2, -1}, {3, -1}}}, 1);
  by_name.topics[0].topic_id = protocol::Uuid{};
  EXPECT_EQ(error_of(alter_partition(image, by_name, 1, {})), ErrorCode::NONE);
  auto unknown_partition = request(image, 1, topic, {0, 0, {{1, -1}}});
  unknown_partition.topics[0].partitions[0].partition_index = 7;
  EXPECT_EQ(error_of(alter_partition(image, unknown_partition, 3, {})), ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
}

TEST_F(AlterPartitionTest, EpochChecks) {
  EXPECT_EQ(error_of(ask({1, 0, {{1, -1}}})), ErrorCode::NOT_CONTROLLER);  // ahead of this controller
  EXPECT_EQ(error_of(ask({0, 1, {{1, -1}}})), ErrorCode::NOT_CONTROLLER);
  auto shrink = ask({0, 0, {{1, -1}}});
  ASSERT_EQ(error_of(shrink), ErrorCode::NONE);
  commit(image, shrink.records);  // partition epoch 1
  EXPECT_EQ(error_of(ask({0, 0, {{1, -1}, {2, -1}}})), ErrorCode::INVALID_UPDATE_VERSION);
  EXPECT_EQ(error_of(ask({0, 1, {{1, -1}, {2, -1}}})), ErrorCode::NONE);
  // A leader change: the old leader epoch is fenced.
  MetadataImage moved = cluster(3);
  auto id = add_topic(moved, "m", {1, 2, 3}, {1, 2});
  commit(moved, fence_broker_records(moved, 1));
  ASSERT_EQ(part(moved, "m").leader, 2);
  ASSERT_EQ(part(moved, "m").leader_epoch, 1);
  commit(moved, unfence_broker_records(moved, 1));
  EXPECT_EQ(error_of(alter_partition(moved, request(moved, 2, id, {0, 1, {{2, -1}}}), 3, {})),
            ErrorCode::FENCED_LEADER_EPOCH);
  EXPECT_EQ(error_of(alter_partition(moved, request(moved, 2, id, {1, 1, {{2, -1}, {1, -1}}}), 3, {})),
            ErrorCode::NONE);
}

TEST_F(AlterPartitionTest, OnlyTheLeaderMayAskAndMustStayInTheIsr) {
  EXPECT_EQ(error_of(ask({0, 0, {{2, -1}}}, 3, 2)), ErrorCode::INVALID_REQUEST);  // 2 is not the leader
  EXPECT_EQ(error_of(ask({0, 0, {{2, -1}}})), ErrorCode::INVALID_REQUEST);        // leader left out
  EXPECT_EQ(error_of(ask({0, 0, {{1, -1}, {4, -1}}})), ErrorCode::INVALID_REQUEST);  // not a replica
  EXPECT_EQ(error_of(ask({0, 0, {{1, -1}, {1, -1}}})), ErrorCode::INVALID_REQUEST);  // duplicate
}

TEST_F(AlterPartitionTest, LeaderRecoveryStateRules) {
  // RECOVERED -> RECOVERING is refused; RECOVERING with more than the leader too.
  EXPECT_EQ(error_of(ask({0, 0, {{1, -1}}, 1})), ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(error_of(ask({0, 0, {{1, -1}, {2, -1}}, 1})), ErrorCode::INVALID_REQUEST);
  // After an unclean election the leader recovers, then reports RECOVERED.
  MetadataImage unclean = cluster(3);
  auto id = add_topic(unclean, "u", {1, 2, 3}, {1});
  set_topic_config(unclean, "u", "unclean.leader.election.enable", "true");
  commit(unclean, fence_broker_records(unclean, 1));
  const PartitionImage& p = part(unclean, "u");
  ASSERT_EQ(p.leader_recovery_state, 1);
  auto still = alter_partition(unclean, request(unclean, p.leader, id, {p.leader_epoch, p.partition_epoch, {{p.leader, -1}}, 1}), 3, {});
  EXPECT_EQ(error_of(still), ErrorCode::NONE);
  EXPECT_TRUE(still.records.empty());
  auto done = alter_partition(unclean, request(unclean, p.leader, id, {p.leader_epoch, p.partition_epoch, {{p.leader, -1}}, 0}), 3, {});
  ASSERT_EQ(error_of(done), ErrorCode::NONE);
  EXPECT_EQ(done.response.topics[0].partitions[0].leader_recovery_state, 0);
  commit(unclean, done.records);
  EXPECT_EQ(part(unclean, "u").leader_recovery_state, 0);
}

TEST_F(AlterPartitionTest, IneligibleReplicas) {
  // A stale broker epoch (v3, KIP-903): the follower restarted since.
  EXPECT_EQ(error_of(ask({0, 0, {{1, -1}, {2, -1}, {3, epoch(3) - 1}}})), ErrorCode::INELIGIBLE_REPLICA);
  commit(image, fence_broker_records(image, 3));
  EXPECT_EQ(error_of(ask({0, 0, {{1, -1}, {2, -1}, {3, -1}}})), ErrorCode::INELIGIBLE_REPLICA);
  EXPECT_EQ(error_of(ask({0, 0, {{1, -1}, {2, -1}, {3, -1}}}, 2)), ErrorCode::INELIGIBLE_REPLICA);
  EXPECT_EQ(error_of(ask({0, 0, {{1, -1}, {2, -1}, {3, -1}}}, 1)), ErrorCode::OPERATION_NOT_ATTEMPTED);
  commit(image, unfence_broker_records(image, 3));
  // In controlled shutdown.
  commit(image, controlled_shutdown_records(image, 3));
  ASSERT_TRUE(image.brokers.at(3).in_controlled_shutdown);
  EXPECT_EQ(error_of(ask({0, 0, {{1, -1}, {2, -1}, {3, -1}}})), ErrorCode::INELIGIBLE_REPLICA);
}

TEST_F(AlterPartitionTest, ShrinkBelowMinIsrMovesMembersToTheElrWhenEnabled) {
  MetadataImage elr = cluster(3, /*elr=*/true);
  auto id = add_topic(elr, "e", {1, 2, 3}, {1, 2, 3});
  set_topic_config(elr, "e", "min.insync.replicas", "2");
  auto r = alter_partition(elr, request(elr, 1, id, {0, 0, {{1, -1}}}), 3, {});
  ASSERT_EQ(error_of(r), ErrorCode::NONE);
  commit(elr, r.records);
  EXPECT_EQ(part(elr, "e").isr, (V{1}));
  EXPECT_EQ(part(elr, "e").eligible_leader_replicas, (V{2, 3}));
  // Back to >= min ISR: the ELR is cleared.
  r = alter_partition(elr, request(elr, 1, id, {0, 1, {{1, -1}, {2, -1}}}), 3, {});
  ASSERT_EQ(error_of(r), ErrorCode::NONE);
  commit(elr, r.records);
  EXPECT_TRUE(part(elr, "e").eligible_leader_replicas.empty());
}

}  // namespace
}  // namespace samsa::broker::metadata
