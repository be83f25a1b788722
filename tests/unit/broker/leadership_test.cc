// Leadership decisions of the controller: ElectLeaders (preferred, unclean),
// the auto.leader.rebalance check, and partition reassignment (KIP-455)
// start, completion, cancel and listing. Records go through the wire format
// and MetadataDelta, as the controller commits them.
#include "samsa/broker/metadata/leadership.h"

#include <gtest/gtest.h>

#include "samsa/broker/metadata/broker_lifecycle.h"
#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata/metadata_delta.h"

namespace samsa::broker::metadata {
namespace {

using protocol::ErrorCode;
using protocol::Uuid;
using V = std::vector<int32_t>;

constexpr int16_t kMv = 21;

MetadataImage replay_all(const MetadataImage& image, const std::vector<RecordAndVersion>& records) {
  MetadataDelta delta(std::make_shared<const MetadataImage>(image));
  int64_t offset = image.offset + 1;
  for (const auto& r : records) delta.replay(frame(r), offset++);
  return *delta.apply();
}

MetadataImage cluster(int brokers) {
  MetadataImage image;
  image.cluster_id = "c";
  image = replay_all(image, bootstrap_records(kMv));
  for (int i = 1; i <= brokers; ++i) {
    BrokerRegistrationInput in;
    in.broker_id = i;
    in.cluster_id = "c";
    in.incarnation_id = Uuid::random();
    in.listeners = {{"PLAINTEXT", "localhost", static_cast<uint16_t>(9090 + i), "PLAINTEXT"}};
    in.features = {{"metadata.version", {7, kMv}}};
    in.log_dirs = {Uuid::random()};
    auto reg = register_broker(image, in, image.offset + 1);
    EXPECT_TRUE(reg.error.ok()) << reg.error.message;
    image = replay_all(image, reg.records);
    image = replay_all(image, unfence_broker_records(image, i));
  }
  return image;
}

// One partition per entry: {replicas, isr, leader}.
struct P {
  V replicas;
  V isr;
  int32_t leader;
};
void add_topic(MetadataImage& image, const std::string& name, const std::vector<P>& parts) {
  protocol::TopicRecord t;
  t.name = name;
  t.topic_id = Uuid::random();
  std::vector<RecordAndVersion> records = {{t, 0}};
  for (size_t i = 0; i < parts.size(); ++i) {
    protocol::PartitionRecord r;
    r.topic_id = t.topic_id;
    r.partition_id = static_cast<int32_t>(i);
    r.replicas = parts[i].replicas;
    r.isr = parts[i].isr;
    r.leader = parts[i].leader;
    for (size_t k = 0; k < parts[i].replicas.size(); ++k) r.directories.push_back(Uuid::random());
    records.push_back({r, partition_record_version(kMv)});
  }
  image = replay_all(image, records);
}

const PartitionImage& part(const MetadataImage& image, const std::string& topic, int32_t p) {
  return *image.topic(topic)->partition(p);
}

PartitionSelection only(const std::string& topic, V partitions) {
  return std::vector<std::pair<std::string, std::vector<int32_t>>>{{topic, std::move(partitions)}};
}

void fence(MetadataImage& image, int32_t broker) { image = replay_all(image, fence_broker_records(image, broker)); }

TEST(ElectLeaders, PreferredMovesLeadershipBackAndBumpsEpoch) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {{{1, 2, 3}, {1, 2, 3}, 2}, {{2, 3, 1}, {2, 3, 1}, 2}});
  const int32_t epoch = part(image, "t", 0).leader_epoch;
  auto result = elect_leaders(image, ElectionType::kPreferred, only("t", {0, 1, 7}));
  ASSERT_EQ(result.topics.size(), 1u);
  ASSERT_EQ(result.topics[0].partitions.size(), 3u);
  EXPECT_TRUE(result.topics[0].partitions[0].error.ok());
  EXPECT_EQ(result.topics[0].partitions[1].error.code, ErrorCode::ELECTION_NOT_NEEDED);
  EXPECT_EQ(result.topics[0].partitions[2].error.code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  image = replay_all(image, result.records);
  EXPECT_EQ(part(image, "t", 0).leader, 1);
  EXPECT_EQ(part(image, "t", 0).leader_epoch, epoch + 1);
  EXPECT_EQ(part(image, "t", 1).leader, 2);
  auto unknown = elect_leaders(image, ElectionType::kPreferred, only("nope", {0}));
  EXPECT_EQ(unknown.topics[0].partitions[0].error.code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
}

TEST(ElectLeaders, PreferredNotAvailableWhenOutOfIsrOrFenced) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {{{1, 2, 3}, {2, 3}, 2}, {{3, 1, 2}, {3, 1, 2}, 1}});
  fence(image, 3);  // partition 1: 3 leaves the ISR
  auto result = elect_leaders(image, ElectionType::kPreferred, only("t", {0, 1}));
  EXPECT_EQ(result.topics[0].partitions[0].error.code, ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE);
  EXPECT_EQ(result.topics[0].partitions[1].error.code, ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE);
  EXPECT_TRUE(result.records.empty());
}

TEST(ElectLeaders, AllPartitionsLeavesOutTheOnesNotNeeded) {
  MetadataImage image = cluster(3);
  add_topic(image, "a", {{{1, 2}, {1, 2}, 1}, {{2, 1}, {2, 1}, 1}});
  add_topic(image, "b", {{{3, 1}, {3, 1}, 3}});
  auto result = elect_leaders(image, ElectionType::kPreferred, std::nullopt);
  ASSERT_EQ(result.topics.size(), 2u);
  size_t reported = 0;
  for (const auto& t : result.topics) reported += t.partitions.size();
  EXPECT_EQ(reported, 1u);
  ASSERT_EQ(result.records.size(), 1u);
  image = replay_all(image, result.records);
  EXPECT_EQ(part(image, "a", 1).leader, 2);
}

TEST(ElectLeaders, UncleanElectsALiveReplicaOutsideTheIsr) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {{{1, 2, 3}, {1}, 1}, {{1, 2}, {1, 2}, 1}});
  fence(image, 1);  // partition 0 is leaderless with ISR [1]; partition 1 moves to 2
  EXPECT_EQ(part(image, "t", 0).leader, -1);
  auto preferred = elect_leaders(image, ElectionType::kPreferred, only("t", {0}));
  EXPECT_EQ(preferred.topics[0].partitions[0].error.code, ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE);
  auto result = elect_leaders(image, ElectionType::kUnclean, only("t", {0, 1}));
  EXPECT_TRUE(result.topics[0].partitions[0].error.ok());
  EXPECT_EQ(result.topics[0].partitions[1].error.code, ErrorCode::ELECTION_NOT_NEEDED);
  image = replay_all(image, result.records);
  EXPECT_EQ(part(image, "t", 0).leader, 2);
  EXPECT_EQ(part(image, "t", 0).isr, V({2}));
}

TEST(ElectLeaders, UncleanWithNoLiveReplicaFails) {
  MetadataImage image = cluster(2);
  add_topic(image, "t", {{{1}, {1}, 1}});
  fence(image, 1);
  auto result = elect_leaders(image, ElectionType::kUnclean, only("t", {0}));
  EXPECT_EQ(result.topics[0].partitions[0].error.code, ErrorCode::ELIGIBLE_LEADERS_NOT_AVAILABLE);
  EXPECT_TRUE(result.records.empty());
}

TEST(BalanceLeaders, MovesLeadersOfAnImbalancedBrokerOnly) {
  MetadataImage image = cluster(3);
  // Broker 1 prefers 4 partitions and leads 2 of them (50%); broker 2
  // prefers 10 and leads 9 (10%, not above the threshold).
  std::vector<P> parts = {{{1, 2}, {1, 2}, 1}, {{1, 2}, {1, 2}, 1}, {{1, 2}, {1, 2}, 2}, {{1, 3}, {3}, 3}};
  for (int i = 0; i < 9; ++i) parts.push_back({{2, 3}, {2, 3}, 2});
  parts.push_back({{2, 3}, {2, 3}, 3});
  add_topic(image, "t", parts);
  auto records = balance_leaders(image, 10);
  ASSERT_EQ(records.size(), 1u);  // partition 3: 1 is not in the ISR
  image = replay_all(image, records);
  EXPECT_EQ(part(image, "t", 2).leader, 1);
  EXPECT_EQ(part(image, "t", 3).leader, 3);
  EXPECT_EQ(part(image, "t", 13).leader, 3);
  EXPECT_EQ(balance_leaders(image, 0).size(), 1u);  // 0%: any imbalance counts
  EXPECT_EQ(balance_leaders(image, 0, 0).size(), 0u);
}

TEST(Reassignment, MovesToNewReplicasOnceTheyAreInTheIsr) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {{{1}, {1}, 1}});
  auto started = alter_partition_reassignments(image, std::vector<ReassignmentTarget>{{"t", 0, V{2}}});
  ASSERT_EQ(started.partitions.size(), 1u);
  ASSERT_TRUE(started.partitions[0].error.ok()) << started.partitions[0].error.message;
  image = replay_all(image, started.records);
  const PartitionImage& moving = part(image, "t", 0);
  EXPECT_EQ(moving.replicas, V({2, 1}));
  EXPECT_EQ(moving.adding_replicas, V({2}));
  EXPECT_EQ(moving.removing_replicas, V({1}));
  EXPECT_EQ(moving.leader, 1);
  EXPECT_EQ(moving.directories.size(), 2u);
  EXPECT_TRUE(any_reassignment_in_progress(image));
  auto listed = list_partition_reassignments(image, std::nullopt);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].adding, V({2}));
  EXPECT_TRUE(complete_reassignments(image).empty());  // 2 has not caught up

  // The leader's AlterPartition adds 2 to the ISR; the move completes.
  protocol::PartitionChangeRecord isr;
  isr.topic_id = image.topic("t")->id;
  isr.partition_id = 0;
  isr.isr = V{1, 2};
  image = replay_all(image, {{isr, partition_change_record_version(kMv)}});
  auto done = complete_reassignments(image);
  ASSERT_EQ(done.size(), 1u);
  const int32_t epoch = part(image, "t", 0).leader_epoch;
  image = replay_all(image, done);
  const PartitionImage& moved = part(image, "t", 0);
  EXPECT_EQ(moved.replicas, V({2}));
  EXPECT_EQ(moved.isr, V({2}));
  EXPECT_EQ(moved.leader, 2);
  EXPECT_EQ(moved.leader_epoch, epoch + 1);
  EXPECT_TRUE(moved.adding_replicas.empty());
  EXPECT_TRUE(moved.removing_replicas.empty());
  EXPECT_EQ(moved.directories.size(), 1u);
  EXPECT_FALSE(any_reassignment_in_progress(image));
  EXPECT_TRUE(list_partition_reassignments(image, std::nullopt).empty());
}

TEST(Reassignment, ShrinkingToIsrMembersCompletesAtOnce) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {{{1, 2, 3}, {1, 2, 3}, 1}});
  auto r = alter_partition_reassignments(image, std::vector<ReassignmentTarget>{{"t", 0, V{3, 2}}});
  ASSERT_TRUE(r.partitions[0].error.ok());
  image = replay_all(image, r.records);
  const PartitionImage& p = part(image, "t", 0);
  EXPECT_EQ(p.replicas, V({3, 2}));
  EXPECT_EQ(p.isr, V({2, 3}));
  EXPECT_EQ(p.leader, 3);
  EXPECT_FALSE(any_reassignment_in_progress(image));
  // The same target again changes nothing.
  auto again = alter_partition_reassignments(image, std::vector<ReassignmentTarget>{{"t", 0, V{3, 2}}});
  EXPECT_TRUE(again.partitions[0].error.ok());
  EXPECT_TRUE(again.records.empty());
}

TEST(Reassignment, CancelRevertsToTheOriginalReplicas) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {{{1, 2}, {1, 2}, 1}});
  auto cancel_none = alter_partition_reassignments(image, std::vector<ReassignmentTarget>{{"t", 0, std::nullopt}});
  EXPECT_EQ(cancel_none.partitions[0].error.code, ErrorCode::NO_REASSIGNMENT_IN_PROGRESS);
  image = replay_all(image, alter_partition_reassignments(image, std::vector<ReassignmentTarget>{{"t", 0, V{3, 2}}})
                                .records);
  EXPECT_EQ(part(image, "t", 0).replicas, V({3, 2, 1}));
  auto cancel = alter_partition_reassignments(image, std::vector<ReassignmentTarget>{{"t", 0, std::nullopt}});
  ASSERT_TRUE(cancel.partitions[0].error.ok());
  image = replay_all(image, cancel.records);
  const PartitionImage& p = part(image, "t", 0);
  // As Kafka's revert: the current replicas without the adding ones (the
  // target-first order stays), the ISR without the adding ones.
  EXPECT_EQ(p.replicas, V({2, 1}));
  EXPECT_EQ(p.isr, V({1, 2}));
  EXPECT_EQ(p.leader, 1);
  EXPECT_TRUE(p.adding_replicas.empty());
  EXPECT_TRUE(p.removing_replicas.empty());
}

TEST(Reassignment, ValidationErrors) {
  MetadataImage image = cluster(2);
  add_topic(image, "t", {{{1}, {1}, 1}});
  std::vector<ReassignmentTarget> targets = {{"t", 0, V{}},        {"t", 5, V{1}},  {"x", 0, V{1}},
                                             {"t", 0, V{2, 2}},    {"t", 0, V{9}}};
  auto r = alter_partition_reassignments(image, targets);
  ASSERT_EQ(r.partitions.size(), 5u);
  EXPECT_EQ(r.partitions[0].error.code, ErrorCode::INVALID_REQUEST);  // t-0 appears three times
  EXPECT_EQ(r.partitions[1].error.code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(r.partitions[2].error.code, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_TRUE(r.records.empty());
  for (const V& bad : {V{}, V{2, 2}, V{9}}) {
    auto one = alter_partition_reassignments(image, std::vector<ReassignmentTarget>{{"t", 0, bad}});
    EXPECT_EQ(one.partitions[0].error.code, ErrorCode::INVALID_REPLICA_ASSIGNMENT);
  }
}

TEST(Reassignment, ListBySelectionSkipsUnknownAndIdle) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {{{1}, {1}, 1}, {{2}, {2}, 2}});
  image = replay_all(image, alter_partition_reassignments(image, std::vector<ReassignmentTarget>{{"t", 1, V{3}}})
                                .records);
  PartitionSelection sel = std::vector<std::pair<std::string, std::vector<int32_t>>>{{"t", {0, 1, 9}}, {"zz", {0}}};
  auto listed = list_partition_reassignments(image, sel);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].partition, 1);
  EXPECT_EQ(listed[0].replicas, V({3, 2}));
  EXPECT_EQ(listed[0].removing, V({2}));
}

}  // namespace
}  // namespace samsa::broker::metadata
