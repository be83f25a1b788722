// Leader election and ISR changes on fencing, unfencing and unclean restarts
// (build_partition_change through the broker lifecycle functions): only
// from the ISR, KIP-966 eligible leader replicas behind their feature, and
// unclean.leader.election.enable.
#include <gtest/gtest.h>

#include "replication_control_fixture.h"

namespace samsa::broker::metadata {
namespace {

using namespace rctest;
using V = std::vector<int32_t>;

TEST(LeaderElection, FencingTheLeaderElectsFromTheIsrOnlyAndBumpsTheLeaderEpoch) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {1, 2, 3}, {1, 3});
  commit(image, fence_broker_records(image, 1));
  const PartitionImage& p = part(image, "t");
  EXPECT_EQ(p.leader, 3);  // 2 is alive but not in the ISR
  EXPECT_EQ(p.isr, (V{3}));
  EXPECT_EQ(p.leader_epoch, 1);
  EXPECT_EQ(p.partition_epoch, 1);
}

TEST(LeaderElection, FencingAFollowerShrinksTheIsrWithoutANewLeaderEpoch) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {1, 2, 3}, {1, 2, 3});
  commit(image, fence_broker_records(image, 3));
  EXPECT_EQ(part(image, "t").isr, (V{1, 2}));
  EXPECT_EQ(part(image, "t").leader, 1);
  EXPECT_EQ(part(image, "t").leader_epoch, 0);
  EXPECT_EQ(part(image, "t").partition_epoch, 1);
}

TEST(LeaderElection, WithoutElrTheLastIsrMemberStaysAndLeadsAgainWhenBack) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {1, 2, 3}, {1});
  commit(image, fence_broker_records(image, 1));
  EXPECT_EQ(part(image, "t").leader, -1);
  EXPECT_EQ(part(image, "t").isr, (V{1}));
  // 2 and 3 are alive but may not lead: they may lack committed records.
  commit(image, fence_broker_records(image, 2));
  commit(image, unfence_broker_records(image, 2));
  EXPECT_EQ(part(image, "t").leader, -1);
  commit(image, unfence_broker_records(image, 1));
  EXPECT_EQ(part(image, "t").leader, 1);
  EXPECT_EQ(part(image, "t").leader_recovery_state, 0);
}

TEST(LeaderElection, UncleanElectionWhenTheTopicAllowsItMarksTheLeaderRecovering) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {1, 2, 3}, {1});
  set_topic_config(image, "t", "unclean.leader.election.enable", "true");
  commit(image, fence_broker_records(image, 1));
  const PartitionImage& p = part(image, "t");
  EXPECT_EQ(p.leader, 2);
  EXPECT_EQ(p.isr, (V{2}));
  EXPECT_EQ(p.leader_recovery_state, 1);  // RECOVERING
}

TEST(LeaderElection, UncleanElectionFollowsTheBrokerLevelSetting) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {1, 2, 3}, {1});
  ControllerDefaults defaults;
  defaults.static_broker_config["unclean.leader.election.enable"] = "true";
  auto records = fence_broker_records(image, 1, defaults);
  commit(image, records);
  EXPECT_EQ(part(image, "t").leader, 2);
  // A topic override wins over the broker setting.
  MetadataImage other = cluster(3);
  add_topic(other, "u", {1, 2, 3}, {1});
  set_topic_config(other, "u", "unclean.leader.election.enable", "false");
  commit(other, fence_broker_records(other, 1, defaults));
  EXPECT_EQ(part(other, "u").leader, -1);
}

TEST(LeaderElection, ElrOffKeepsElrFieldsEmpty) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {1, 2, 3}, {1, 2, 3});
  set_topic_config(image, "t", "min.insync.replicas", "2");
  commit(image, fence_broker_records(image, 3));
  commit(image, fence_broker_records(image, 2));
  EXPECT_EQ(part(image, "t").isr, (V{1}));
  EXPECT_TRUE(part(image, "t").eligible_leader_replicas.empty());
}

TEST(LeaderElection, ElrKeepsMembersThatLeftBelowMinIsrAndElectsFromIt) {
  MetadataImage image = cluster(3, /*elr=*/true);
  ASSERT_TRUE(elr_enabled(image));
  add_topic(image, "t", {1, 2, 3}, {1, 2, 3});
  set_topic_config(image, "t", "min.insync.replicas", "2");
  commit(image, fence_broker_records(image, 3));  // ISR {1,2}: still >= min ISR
  EXPECT_TRUE(part(image, "t").eligible_leader_replicas.empty());
  commit(image, fence_broker_records(image, 2));  // ISR {1} < 2: 2 is eligible
  EXPECT_EQ(part(image, "t").isr, (V{1}));
  EXPECT_EQ(part(image, "t").eligible_leader_replicas, (V{2}));
  commit(image, fence_broker_records(image, 1));  // ISR empty: 1 joins the ELR
  EXPECT_TRUE(part(image, "t").isr.empty());
  EXPECT_EQ(part(image, "t").leader, -1);
  EXPECT_EQ(part(image, "t").eligible_leader_replicas, (V{1, 2}));
  EXPECT_EQ(part(image, "t").last_known_elr, (V{1}));
  // 3 left above min ISR: it may not lead. 2 may.
  commit(image, unfence_broker_records(image, 3));
  EXPECT_EQ(part(image, "t").leader, -1);
  commit(image, unfence_broker_records(image, 2));
  EXPECT_EQ(part(image, "t").leader, 2);
  EXPECT_EQ(part(image, "t").isr, (V{2}));
  EXPECT_EQ(part(image, "t").eligible_leader_replicas, (V{1}));
  EXPECT_TRUE(part(image, "t").last_known_elr.empty());
  EXPECT_EQ(part(image, "t").leader_recovery_state, 0);
}

TEST(UncleanShutdown, ACleanRestartOfAFencedBrokerWritesNoPartitionChange) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {1, 2, 3}, {1, 2, 3});
  // A follower whose old process was never fenced leaves the ISR on
  // re-registering, clean or not.
  const int64_t old_epoch = image.brokers.at(3).epoch;
  BrokerRegistrationInput clean = registration(3, kMv);
  clean.previous_broker_epoch = old_epoch;
  auto r1 = register_broker(image, clean, image.offset + 1, false);
  ASSERT_TRUE(r1.error.ok());
  MetadataImage after_clean = *replay_all(image, r1.records);
  EXPECT_EQ(part(after_clean, "t").isr, (V{1, 2}));  // an unfenced old process leaves in any case

  // Fenced first (its session ended), then registering: a clean restart
  // changes nothing; the ISR already lacks it.
  MetadataImage fenced = image;
  commit(fenced, fence_broker_records(fenced, 3));
  auto r2 = register_broker(fenced, clean, fenced.offset + 1, false);
  ASSERT_TRUE(r2.error.ok());
  EXPECT_EQ(r2.records.size(), 1u);  // just the RegisterBrokerRecord
}

TEST(UncleanShutdown, WithoutElrTheLastIsrMemberIsKeptEvenAfterAnUncleanRestart) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {1, 2, 3}, {3});
  commit(image, fence_broker_records(image, 3));
  auto reg = register_broker(image, registration(3, kMv), image.offset + 1, false);
  ASSERT_TRUE(reg.error.ok());
  commit(image, reg.records);
  EXPECT_EQ(part(image, "t").isr, (V{3}));  // it is all there is
}

TEST(UncleanShutdown, WithElrTheRestartedReplicaLeavesIsrAndElrAndOneWithTheDataLeads) {
  MetadataImage image = cluster(3, /*elr=*/true);
  add_topic(image, "t", {1, 2, 3}, {1, 2, 3});
  set_topic_config(image, "t", "min.insync.replicas", "2");
  commit(image, fence_broker_records(image, 3));
  commit(image, fence_broker_records(image, 2));
  commit(image, fence_broker_records(image, 1));
  EXPECT_EQ(part(image, "t").eligible_leader_replicas, (V{1, 2}));
  // 1 comes back having lost its unflushed tail (no clean-shutdown epoch).
  auto reg = register_broker(image, registration(1, kMvElr), image.offset + 1, false);
  ASSERT_TRUE(reg.error.ok());
  commit(image, reg.records);
  EXPECT_EQ(part(image, "t").eligible_leader_replicas, (V{2}));
  commit(image, unfence_broker_records(image, 1));
  EXPECT_EQ(part(image, "t").leader, -1);  // 1 may not lead: 2 has the data
  commit(image, unfence_broker_records(image, 2));
  EXPECT_EQ(part(image, "t").leader, 2);
}

TEST(UncleanShutdown, AnUnfencedLeaderRestartingUncleanlyLosesItsLeadership) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {1, 2, 3}, {1, 2, 3});
  auto reg = register_broker(image, registration(1, kMv), image.offset + 1, false);
  ASSERT_TRUE(reg.error.ok());
  commit(image, reg.records);
  EXPECT_EQ(part(image, "t").leader, 2);
  EXPECT_EQ(part(image, "t").isr, (V{2, 3}));
}

TEST(PartitionChange, NoRecordWhenNothingChanges) {
  MetadataImage image = cluster(3);
  auto id = add_topic(image, "t", {1, 2, 3}, {1, 2, 3});
  PartitionChangeSettings settings;
  EXPECT_FALSE(build_partition_change(image, id, part(image, "t"), {}, settings).has_value());
  PartitionChangeRequest same;
  same.target_isr = V{1, 2, 3};
  EXPECT_FALSE(build_partition_change(image, id, part(image, "t"), same, settings).has_value());
}

TEST(PartitionChange, PreferredElectionMovesToTheFirstReplicaWhenInTheIsr) {
  MetadataImage image = cluster(3);
  auto id = add_topic(image, "t", {1, 2, 3}, {1, 2, 3}, /*leader=*/2);
  PartitionChangeRequest req;
  req.election = Election::kPreferred;
  auto r = build_partition_change(image, id, part(image, "t"), req, {});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(std::get<protocol::PartitionChangeRecord>(r->record).leader, 1);
}

TEST(PartitionChange, MinIsrIsCappedAtTheReplicationFactor) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {1, 2}, {1, 2});
  set_topic_config(image, "t", "min.insync.replicas", "3");
  EXPECT_EQ(partition_change_settings(image, *image.topic("t"), {}).min_isr, 2);
}

}  // namespace
}  // namespace samsa::broker::metadata
