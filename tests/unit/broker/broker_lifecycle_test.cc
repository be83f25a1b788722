// Broker lifecycle decisions of the controller (KIP-631): registration
// checks, heartbeats, fencing with leader moves, controlled shutdown, and
// the session tracking of BrokerHeartbeatManager.
#include "samsa/broker/metadata/broker_lifecycle.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "samsa/broker/metadata/broker_heartbeat_manager.h"
#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata/metadata_delta.h"
#include "samsa/broker/metadata/replica_placer.h"

namespace samsa::broker::metadata {
namespace {

using protocol::ErrorCode;
using protocol::Uuid;
using S = BrokerControlState;

constexpr int16_t kMv = 21;

std::shared_ptr<const MetadataImage> replay_all(const MetadataImage& image, const std::vector<RecordAndVersion>& records) {
  MetadataDelta delta(std::make_shared<const MetadataImage>(image));
  int64_t offset = image.offset + 1;
  for (const auto& r : records) delta.replay(frame(r), offset++);  // through the wire format
  return delta.apply();
}

BrokerRegistrationInput registration(int32_t id, Uuid incarnation = Uuid::random()) {
  BrokerRegistrationInput in;
  in.broker_id = id;
  in.cluster_id = "c";
  in.incarnation_id = incarnation;
  in.listeners = {{"PLAINTEXT", "localhost", static_cast<uint16_t>(9090 + id), "PLAINTEXT"}};
  in.features = {{"metadata.version", {7, kMv}}};
  in.log_dirs = {Uuid::random()};
  return in;
}

// A cluster of `brokers` registered (epochs at their record offsets) and unfenced.
MetadataImage cluster(int brokers) {
  MetadataImage image;
  image.cluster_id = "c";
  image = *replay_all(image, bootstrap_records(kMv));
  for (int i = 1; i <= brokers; ++i) {
    auto reg = register_broker(image, registration(i), image.offset + 1);
    EXPECT_TRUE(reg.error.ok()) << reg.error.message;
    image = *replay_all(image, reg.records);
    image = *replay_all(image, unfence_broker_records(image, i));
  }
  return image;
}

Uuid add_topic(MetadataImage& image, const std::string& name, const std::vector<std::vector<int32_t>>& replicas,
               const std::vector<std::vector<int32_t>>& isrs) {
  protocol::TopicRecord t;
  t.name = name;
  t.topic_id = Uuid::random();
  std::vector<RecordAndVersion> records = {{t, 0}};
  for (size_t p = 0; p < replicas.size(); ++p) {
    protocol::PartitionRecord r;
    r.topic_id = t.topic_id;
    r.partition_id = static_cast<int32_t>(p);
    r.replicas = replicas[p];
    r.isr = isrs[p];
    r.leader = isrs[p].front();
    r.leader_epoch = 0;
    r.partition_epoch = 0;
    records.push_back({r, partition_record_version(kMv)});
  }
  image = *replay_all(image, records);
  return t.topic_id;
}

const PartitionImage& partition(const MetadataImage& image, const std::string& topic, int32_t p) {
  return *image.topic(topic)->partition(p);
}

BrokerHeartbeatInput beat(const MetadataImage& image, int32_t id, int64_t offset, bool want_fence = false,
                          bool want_shut_down = false) {
  return {id, image.brokers.at(id).epoch, offset, want_fence, want_shut_down};
}

TEST(BrokerRegistration, KafkasChecks) {
  MetadataImage image = cluster(1);
  BrokerRegistrationInput other = registration(1);
  // Another incarnation while the old session is alive.
  EXPECT_EQ(register_broker(image, other, 50, true).error.code, ErrorCode::DUPLICATE_BROKER_REGISTRATION);
  // The cluster id comes first.
  other.cluster_id = "elsewhere";
  EXPECT_EQ(register_broker(image, other, 50, false).error.code, ErrorCode::INCONSISTENT_CLUSTER_ID);
  // metadata.version outside the broker's range.
  BrokerRegistrationInput old = registration(2);
  old.features = {{"metadata.version", {1, 7}}};
  auto e = register_broker(image, old, 50, false).error;
  EXPECT_EQ(e.code, ErrorCode::UNSUPPORTED_VERSION);
  EXPECT_NE(e.message.find("finalized version 21 of metadata.version"), std::string::npos) << e.message;
  // A finalized feature the broker does not list.
  MetadataImage with_feature = image;
  with_feature.features["group.version"] = 1;
  EXPECT_EQ(register_broker(with_feature, registration(2), 50, false).error.code, ErrorCode::UNSUPPORTED_VERSION);
  BrokerRegistrationInput supports = registration(2);
  supports.features.push_back({"group.version", {0, 1}});
  EXPECT_TRUE(register_broker(with_feature, supports, 50, false).error.ok());
  // A listed feature whose range excludes the finalized level (0 when not finalized).
  BrokerRegistrationInput needs = registration(2);
  needs.features.push_back({"transaction.version", {1, 2}});
  EXPECT_EQ(register_broker(image, needs, 50, false).error.code, ErrorCode::UNSUPPORTED_VERSION);
}

TEST(BrokerRegistration, SameIncarnationIsIdempotentNewOneGetsANewEpoch) {
  MetadataImage image = cluster(1);
  const BrokerRegistration& b = image.brokers.at(1);
  BrokerRegistrationInput same = registration(1, b.incarnation_id);
  auto again = register_broker(image, same, 77, true);
  ASSERT_TRUE(again.error.ok());
  EXPECT_EQ(again.broker_epoch, b.epoch);
  EXPECT_TRUE(again.records.empty());

  // Once the old session is gone a new incarnation registers, fenced.
  auto fresh = register_broker(image, registration(1), 77, false);
  ASSERT_TRUE(fresh.error.ok()) << fresh.error.message;
  EXPECT_EQ(fresh.broker_epoch, 77);
  auto after = replay_all(image, fresh.records);
  EXPECT_EQ(after->brokers.at(1).epoch, 77);
  EXPECT_TRUE(after->brokers.at(1).fenced);
}

TEST(BrokerRegistration, NewIncarnationOfAnUnfencedBrokerMovesItsLeadershipsFirst) {
  MetadataImage image = cluster(2);
  add_topic(image, "t", {{1, 2}}, {{1, 2}});
  const int64_t next = image.offset + 1;
  auto fresh = register_broker(image, registration(1), next, false);
  ASSERT_TRUE(fresh.error.ok());
  ASSERT_EQ(fresh.records.size(), 2u);  // PartitionChangeRecord, then RegisterBrokerRecord
  EXPECT_EQ(record_type(fresh.records[0].record), protocol::PartitionChangeRecord::kApiKey);
  EXPECT_EQ(fresh.broker_epoch, next + 1);  // the RegisterBrokerRecord's own offset
  auto after = replay_all(image, fresh.records);
  EXPECT_EQ(after->brokers.at(1).epoch, next + 1);
  EXPECT_EQ(partition(*after, "t", 0).leader, 2);
  EXPECT_EQ(partition(*after, "t", 0).isr, (std::vector<int32_t>{2}));
}

TEST(BrokerHeartbeat, ErrorsForUnknownBrokerAndStaleEpoch) {
  MetadataImage image = cluster(1);
  EXPECT_EQ(broker_heartbeat(image, {7, 1, 0, false, false}, true).error.code, ErrorCode::BROKER_ID_NOT_REGISTERED);
  BrokerHeartbeatInput stale = beat(image, 1, 100);
  stale.broker_epoch -= 1;
  auto r = broker_heartbeat(image, stale, true);
  EXPECT_EQ(r.error.code, ErrorCode::STALE_BROKER_EPOCH);
  EXPECT_TRUE(r.records.empty());
}

TEST(BrokerHeartbeat, UnfencesOnlyOnceCaughtUpAndNotWantingFence) {
  MetadataImage image;
  image.cluster_id = "c";
  image = *replay_all(image, bootstrap_records(kMv));
  auto reg = register_broker(image, registration(1), image.offset + 1);
  image = *replay_all(image, reg.records);
  const int64_t epoch = reg.broker_epoch;

  auto behind = broker_heartbeat(image, beat(image, 1, epoch - 1), true);
  EXPECT_TRUE(behind.error.ok());
  EXPECT_FALSE(behind.is_caught_up);
  EXPECT_TRUE(behind.is_fenced);
  EXPECT_TRUE(behind.records.empty());

  auto wants_fence = broker_heartbeat(image, beat(image, 1, epoch, true), true);
  EXPECT_TRUE(wants_fence.is_caught_up);
  EXPECT_TRUE(wants_fence.is_fenced);
  EXPECT_TRUE(wants_fence.records.empty());

  auto ok = broker_heartbeat(image, beat(image, 1, epoch), true);
  EXPECT_EQ(ok.next, S::kUnfenced);
  EXPECT_FALSE(ok.is_fenced);
  image = *replay_all(image, ok.records);
  EXPECT_FALSE(image.brokers.at(1).fenced);

  // Unfenced and wanting fence again: fenced.
  auto fence = broker_heartbeat(image, beat(image, 1, epoch, true), true);
  EXPECT_EQ(fence.next, S::kFenced);
  EXPECT_TRUE(replay_all(image, fence.records)->brokers.at(1).fenced);
}

TEST(BrokerFencing, MovesLeadershipToTheNextIsrMemberAndBackOnUnfence) {
  MetadataImage image = cluster(3);
  add_topic(image, "t", {{1, 2, 3}, {2, 1, 3}, {1, 2, 3}}, {{1, 2, 3}, {2, 1, 3}, {1}});
  auto before = partition(image, "t", 0);

  auto records = fence_broker_records(image, 1);
  auto fenced = replay_all(image, records);
  EXPECT_TRUE(fenced->brokers.at(1).fenced);
  const auto& p0 = partition(*fenced, "t", 0);
  EXPECT_EQ(p0.leader, 2);
  EXPECT_EQ(p0.isr, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(p0.leader_epoch, before.leader_epoch + 1);
  EXPECT_EQ(p0.partition_epoch, before.partition_epoch + 1);
  // Not the leader: only the ISR shrinks, the leader epoch stays.
  const auto& p1 = partition(*fenced, "t", 1);
  EXPECT_EQ(p1.leader, 2);
  EXPECT_EQ(p1.isr, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(p1.leader_epoch, 0);
  EXPECT_EQ(p1.partition_epoch, 1);
  // The last ISR member stays in the ISR; the partition has no leader.
  const auto& p2 = partition(*fenced, "t", 2);
  EXPECT_EQ(p2.leader, -1);
  EXPECT_EQ(p2.isr, (std::vector<int32_t>{1}));
  EXPECT_FALSE(leads_any_partition(*fenced, 1));
  EXPECT_TRUE(fence_broker_records(*fenced, 1).empty());  // already fenced

  // Unfencing gives the leaderless partition back to its only ISR member.
  auto unfenced = replay_all(*fenced, unfence_broker_records(*fenced, 1));
  EXPECT_FALSE(unfenced->brokers.at(1).fenced);
  EXPECT_EQ(partition(*unfenced, "t", 2).leader, 1);
  EXPECT_EQ(partition(*unfenced, "t", 2).leader_epoch, 2);
  EXPECT_EQ(partition(*unfenced, "t", 0).leader, 2);  // nothing else moves back
}

TEST(BrokerFencing, NoAcceptableLeaderLeavesThePartitionLeaderless) {
  MetadataImage image = cluster(2);
  add_topic(image, "t", {{1, 2}}, {{1, 2}});
  image = *replay_all(image, fence_broker_records(image, 2));
  EXPECT_EQ(partition(image, "t", 0).isr, (std::vector<int32_t>{1}));
  image = *replay_all(image, fence_broker_records(image, 1));
  EXPECT_EQ(partition(image, "t", 0).leader, -1);
  EXPECT_EQ(partition(image, "t", 0).isr, (std::vector<int32_t>{1}));
  // Broker 2 comes back but is not in the ISR: no unclean election.
  image = *replay_all(image, unfence_broker_records(image, 2));
  EXPECT_EQ(partition(image, "t", 0).leader, -1);
}

TEST(BrokerControlledShutdown, MovesLeadersThenAllowsShutdown) {
  MetadataImage image = cluster(2);
  add_topic(image, "t", {{1, 2}, {2, 1}}, {{1, 2}, {2, 1}});
  auto first = broker_heartbeat(image, beat(image, 1, image.offset, false, true), true);
  ASSERT_TRUE(first.error.ok());
  EXPECT_EQ(first.next, S::kControlledShutdown);
  EXPECT_FALSE(first.is_fenced);
  EXPECT_TRUE(first.in_controlled_shutdown);
  EXPECT_FALSE(first.should_shut_down);
  image = *replay_all(image, first.records);
  EXPECT_TRUE(image.brokers.at(1).in_controlled_shutdown);
  EXPECT_EQ(partition(image, "t", 0).leader, 2);
  EXPECT_EQ(partition(image, "t", 0).isr, (std::vector<int32_t>{2}));
  EXPECT_EQ(partition(image, "t", 1).isr, (std::vector<int32_t>{2}));

  // Not before the other brokers have seen the moves.
  auto waiting = broker_heartbeat(image, beat(image, 1, image.offset, false, true), false);
  EXPECT_EQ(waiting.next, S::kControlledShutdown);
  EXPECT_FALSE(waiting.should_shut_down);

  auto done = broker_heartbeat(image, beat(image, 1, image.offset, false, true), true);
  EXPECT_EQ(done.next, S::kShutdownNow);
  EXPECT_TRUE(done.should_shut_down);
  EXPECT_TRUE(done.is_fenced);
  image = *replay_all(image, done.records);
  EXPECT_TRUE(image.brokers.at(1).fenced);
  // A placer never uses a broker that is shutting down or fenced as leader.
  ReplicaPlacer placer(3);
  auto placed = placer.place(image, 4, 1);
  ASSERT_TRUE(std::holds_alternative<Assignment>(placed));
  for (const auto& replicas : std::get<Assignment>(placed)) EXPECT_EQ(replicas.front(), 2);
}

TEST(BrokerControlledShutdown, ABrokerLeadingNothingStopsAtOnce) {
  MetadataImage image = cluster(2);
  add_topic(image, "t", {{2, 1}}, {{2}});
  auto r = broker_heartbeat(image, beat(image, 1, image.offset, false, true), false);
  EXPECT_EQ(r.next, S::kShutdownNow);
  EXPECT_TRUE(r.should_shut_down);
  EXPECT_TRUE(replay_all(image, r.records)->brokers.at(1).fenced);
  // A fenced broker asking to shut down may go at once too.
  MetadataImage fenced = *replay_all(image, fence_broker_records(image, 1));
  auto f = broker_heartbeat(fenced, beat(fenced, 1, fenced.offset, false, true), false);
  EXPECT_TRUE(f.should_shut_down);
  EXPECT_TRUE(f.records.empty());
}

TEST(BrokerPlacement, RackAwareOverUnfencedBrokersOnly) {
  // Racks a: 1 2, b: 3 4, c: 5 6; broker 6 is fenced and 4 is shutting down.
  MetadataImage image = cluster(6);
  for (auto& [id, b] : image.brokers) b.rack = std::string(1, static_cast<char>('a' + (id - 1) / 2));
  image.brokers.at(6).fenced = true;
  image.brokers.at(4).in_controlled_shutdown = true;
  for (uint64_t seed : {1u, 2u, 3u}) {
    ReplicaPlacer placer(seed);
    auto placed = std::get<Assignment>(placer.place(image, 8, 3));
    std::map<int32_t, int> leaders;
    for (const auto& replicas : placed) {
      std::set<std::string> racks;
      for (int32_t r : replicas) {
        EXPECT_NE(r, 4) << "a broker in controlled shutdown gets no replica";
        racks.insert(*image.brokers.at(r).rack);
      }
      EXPECT_EQ(racks.size(), 3u) << "one replica per rack";
      EXPECT_NE(replicas[0], 6) << "a fenced broker never leads";
      ++leaders[replicas[0]];
    }
    // Leaders spread: every usable unfenced broker leads some, none leads
    // half of them.
    EXPECT_EQ(leaders.size(), 4u);
    for (const auto& [b, n] : leaders) EXPECT_LE(n, 3) << "broker " << b;
  }
}

TEST(BrokerHeartbeatManager, SessionsExpireAndResetOnTakeover) {
  MetadataImage image = cluster(3);
  image = *replay_all(image, fence_broker_records(image, 3));
  BrokerHeartbeatManager sessions(1000);
  sessions.reset(image, 0);
  // Presumed by reset(), not heard from yet: expires normally, but does not
  // keep a restarted incarnation from registering.
  EXPECT_FALSE(sessions.has_valid_session(image, 1, 10));
  EXPECT_FALSE(sessions.has_valid_session(image, 3, 10));  // fenced: no session
  sessions.touch(1, 800, 40);
  EXPECT_TRUE(sessions.has_valid_session(image, 1, 1000));
  EXPECT_TRUE(sessions.has_valid_session(image, 1, 1800));
  EXPECT_FALSE(sessions.has_valid_session(image, 1, 1801));
  EXPECT_EQ(sessions.expired(image, 1500), (std::vector<int32_t>{2}));
  EXPECT_FALSE(sessions.has_valid_session(image, 2, 1500));
  EXPECT_EQ(sessions.expired(image, 1900), (std::vector<int32_t>{1, 2}));
  // A new active controller: every registered broker starts a full session.
  sessions.reset(image, 5000);
  EXPECT_TRUE(sessions.expired(image, 6000).empty());
  EXPECT_EQ(sessions.expired(image, 6001), (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(sessions.metadata_offset(1), -1);

  // Controlled shutdown waits for the other active brokers' offsets.
  sessions.set_controlled_shutdown_offset(1, 50);
  sessions.set_controlled_shutdown_offset(1, 60);  // the first one sticks
  EXPECT_EQ(sessions.controlled_shutdown_offset(1), 50);
  EXPECT_FALSE(sessions.others_caught_up(image, 1, 50));
  sessions.touch(2, 6000, 50);
  EXPECT_TRUE(sessions.others_caught_up(image, 1, 50));  // broker 3 is fenced: not counted
}

}  // namespace
}  // namespace samsa::broker::metadata
