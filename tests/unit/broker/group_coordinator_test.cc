// The classic group protocol driven straight through GroupCoordinator, on a
// real ReplicaManager (so every change really lands in __consumer_offsets)
// with a hand-moved clock for session and rebalance timeouts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/group/group_coordinator.h"
#include "samsa/broker/replica/replica_manager.h"
#include "samsa/protocol/error_code.h"
#include "single_node_env.h"
#include "samsa/protocol/error_code.h"

namespace samsa::broker::group {
namespace {

using protocol::ErrorCode;
namespace fs = std::filesystem;

std::shared_ptr<TopicImage> topic_image(const std::string& name, uint8_t id, int32_t partitions) {
  auto topic = std::make_shared<TopicImage>();
  topic->name = name;
  topic->id.bytes[15] = id;
  for (int32_t p = 0; p < partitions; ++p) {
    PartitionImage pi;
    pi.partition_id = p;
    pi.replicas = {1};
    pi.isr = {1};
    pi.leader = 1;
    topic->partitions.emplace(p, pi);
  }
  return topic;
}

class GroupCoordinatorTest : public ::testing::Test {
 protected:
  GroupCoordinatorTest() {
    dir = test_env::fresh_dir("samsa-groups");
    config = test_env::single_node_config(dir.string());
    pm = std::make_unique<ReplicaManager>(config, 1);
    pm->startup();
    services.node_id = 1;
    services.config = &config;
    services.replicas = pm.get();
    auto image = std::make_shared<MetadataImage>();
    auto topics = std::make_shared<TopicsImage>();
    for (auto t : {topic_image(kOffsetsTopic, 9, 1), topic_image("events", 7, 4)}) {
      topics->by_name.emplace(t->name, t);
      topics->by_id.emplace(t->id, t);
    }
    image->topics = topics;
    services.metadata.publish(image);
    pm->apply(*image);
    gc.offsets_partitions = 1;
    gc.initial_rebalance_delay_ms = 0;
    coordinator = make_coordinator();
  }
  ~GroupCoordinatorTest() override {
    coordinator.reset();
    pm->shutdown();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  std::unique_ptr<GroupCoordinator> make_coordinator() {
    auto c = std::make_unique<GroupCoordinator>(services, gc);
    c->set_clock([this] { return now; });
    c->on_image(*services.metadata.current());
    c->await_loads();
    return c;
  }

  // The asynchronous calls, waited for. On one replica a write is
  // acknowledged as it is appended, so the answer is there on return.
  std::vector<ErrorCode> commit_offsets(CommitRequest r) {
    std::optional<std::vector<ErrorCode>> out;
    coordinator->commit_offsets(std::move(r), [&](std::vector<ErrorCode> e) { out = std::move(e); });
    EXPECT_TRUE(out.has_value());
    return out.value_or(std::vector<ErrorCode>{ErrorCode::UNKNOWN_SERVER_ERROR});
  }
  ErrorCode delete_group(const std::string& id) {
    std::optional<ErrorCode> out;
    coordinator->delete_group(id, [&](ErrorCode e) { out = e; });
    EXPECT_TRUE(out.has_value());
    return out.value_or(ErrorCode::UNKNOWN_SERVER_ERROR);
  }
  ErrorCode delete_offsets(const std::string& id, const std::vector<TopicPartitions>& topics,
                           std::vector<ErrorCode>& errors) {
    std::optional<ErrorCode> out;
    coordinator->delete_offsets(id, topics, [&](ErrorCode e, std::vector<ErrorCode> per_partition) {
      out = e;
      errors = std::move(per_partition);
    });
    EXPECT_TRUE(out.has_value());
    return out.value_or(ErrorCode::UNKNOWN_SERVER_ERROR);
  }

  // The current image with __consumer_offsets-0 led by `leader` at `epoch`.
  std::shared_ptr<MetadataImage> offsets_led_by(int32_t leader, int32_t epoch) {
    auto image = std::make_shared<MetadataImage>(*services.metadata.current());
    auto topics = std::make_shared<TopicsImage>(*image->topics);
    auto offsets = std::make_shared<TopicImage>(*topics->by_name.at(kOffsetsTopic));
    offsets->partitions.at(0).leader = leader;
    offsets->partitions.at(0).leader_epoch = epoch;
    topics->by_name[kOffsetsTopic] = offsets;
    topics->by_id[offsets->id] = offsets;
    image->topics = topics;
    return image;
  }

  JoinRequest join_request(const std::string& member_id, std::vector<uint8_t> metadata = {1, 2, 3}) {
    JoinRequest r;
    r.group_id = "g";
    r.member_id = member_id;
    r.require_known_member_id = true;
    r.client_id = "client";
    r.client_host = "/127.0.0.1";
    r.session_timeout_ms = 10000;
    r.rebalance_timeout_ms = 30000;
    r.protocol_type = "consumer";
    r.protocols = {{"range", std::move(metadata)}};
    return r;
  }

  // Starts a JoinGroup; the result shows up in the returned slot once the
  // coordinator answers (immediately, or when the rebalance completes).
  std::shared_ptr<std::optional<JoinResult>> join(JoinRequest r) {
    auto slot = std::make_shared<std::optional<JoinResult>>();
    coordinator->join(std::move(r), [slot](JoinResult res) { *slot = std::move(res); });
    return slot;
  }

  std::shared_ptr<std::optional<SyncResult>> sync(const std::string& member, int32_t generation,
                                                  std::vector<std::pair<std::string, std::vector<uint8_t>>> assignments = {}) {
    SyncRequest r;
    r.group_id = "g";
    r.member_id = member;
    r.generation_id = generation;
    r.assignments = std::move(assignments);
    auto slot = std::make_shared<std::optional<SyncResult>>();
    coordinator->sync(std::move(r), [slot](SyncResult res) { *slot = std::move(res); });
    return slot;
  }

  // A member id from the v4 MEMBER_ID_REQUIRED round trip.
  std::string new_member_id() {
    auto first = join(join_request(""));
    EXPECT_TRUE(first->has_value());
    EXPECT_EQ((*first)->error, ErrorCode::MEMBER_ID_REQUIRED);
    return (*first)->member_id;
  }

  // One member joins and syncs: a Stable group with generation 1.
  std::string stable_single_member() {
    std::string id = new_member_id();
    auto joined = join(join_request(id));
    EXPECT_TRUE(joined->has_value());
    EXPECT_EQ((*joined)->error, ErrorCode::NONE);
    auto synced = sync(id, (*joined)->generation_id, {{id, {42}}});
    EXPECT_TRUE(synced->has_value());
    EXPECT_EQ((*synced)->error, ErrorCode::NONE);
    return id;
  }

  CommitRequest commit(const std::string& member, int32_t generation, int64_t offset) {
    CommitRequest r;
    r.group_id = "g";
    r.member_id = member;
    r.generation_id = generation;
    r.partitions.push_back({"events", 0, offset, 3, "meta"});
    return r;
  }

  int64_t committed(int32_t partition = 0) {
    std::vector<FetchedOffset> out;
    EXPECT_EQ(coordinator->fetch_offsets("g", std::vector<TopicPartitions>{{"events", {partition}}}, out),
              ErrorCode::NONE);
    return out.empty() ? -2 : out[0].offset;
  }

  fs::path dir;
  BrokerConfig config;
  std::unique_ptr<ReplicaManager> pm;
  BrokerServices services;
  CoordinatorConfig gc;
  int64_t now = 1700000000000;
  std::unique_ptr<GroupCoordinator> coordinator;
};

TEST_F(GroupCoordinatorTest, TwoMembersRebalanceAndGetTheLeadersAssignment) {
  std::string a = new_member_id();
  std::string b = new_member_id();
  ASSERT_NE(a, b);
  EXPECT_EQ(a.rfind("client-", 0), 0u);  // clientId-uuid, as Kafka names members

  auto ja = join(join_request(a));
  EXPECT_FALSE(ja->has_value()) << "the first member waits for the pending one";
  auto jb = join(join_request(b));
  ASSERT_TRUE(ja->has_value());
  ASSERT_TRUE(jb->has_value());
  EXPECT_EQ((*ja)->generation_id, 1);
  EXPECT_EQ((*jb)->generation_id, 1);
  EXPECT_EQ((*ja)->protocol_name, "range");
  const JoinResult& leader = (*ja)->leader == a ? **ja : **jb;
  const JoinResult& follower = (*ja)->leader == a ? **jb : **ja;
  EXPECT_EQ(leader.members.size(), 2u);
  EXPECT_TRUE(follower.members.empty());

  auto sf = sync(follower.member_id, 1);
  EXPECT_FALSE(sf->has_value()) << "followers wait for the leader's assignment";
  auto sl = sync(leader.member_id, 1, {{a, {1}}, {b, {2}}});
  ASSERT_TRUE(sf->has_value());
  ASSERT_TRUE(sl->has_value());
  EXPECT_EQ((*sf)->assignment, (follower.member_id == a ? std::vector<uint8_t>{1} : std::vector<uint8_t>{2}));
  EXPECT_EQ(coordinator->describe("g").state, "Stable");
  EXPECT_EQ(coordinator->heartbeat("g", a, std::nullopt, 1), ErrorCode::NONE);
}

TEST_F(GroupCoordinatorTest, HeartbeatErrors) {
  std::string a = stable_single_member();
  EXPECT_EQ(coordinator->heartbeat("g", a, std::nullopt, 0), ErrorCode::ILLEGAL_GENERATION);
  EXPECT_EQ(coordinator->heartbeat("g", "nobody", std::nullopt, 1), ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(coordinator->heartbeat("other", a, std::nullopt, 1), ErrorCode::UNKNOWN_MEMBER_ID);
  // A second member makes the group rebalance; the first hears about it.
  std::string b = new_member_id();
  auto jb = join(join_request(b));
  EXPECT_FALSE(jb->has_value());
  EXPECT_EQ(coordinator->heartbeat("g", a, std::nullopt, 1), ErrorCode::REBALANCE_IN_PROGRESS);
}

TEST_F(GroupCoordinatorTest, SessionExpiryRemovesTheMemberAndEmptiesTheGroup) {
  std::string a = stable_single_member();
  now += 5000;
  coordinator->tick();
  EXPECT_EQ(coordinator->describe("g").members.size(), 1u);
  now += 10001;
  coordinator->tick();
  auto d = coordinator->describe("g");
  EXPECT_EQ(d.state, "Empty");
  EXPECT_TRUE(d.members.empty());
  EXPECT_EQ(coordinator->heartbeat("g", a, std::nullopt, 1), ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST_F(GroupCoordinatorTest, RebalanceTimeoutDropsMembersThatDidNotRejoin) {
  std::string a = stable_single_member();
  std::string b = new_member_id();
  auto jb = join(join_request(b));
  ASSERT_FALSE(jb->has_value());
  // `a` keeps heartbeating but never rejoins.
  now += 20000;
  EXPECT_EQ(coordinator->heartbeat("g", a, std::nullopt, 1), ErrorCode::REBALANCE_IN_PROGRESS);
  now += 10001;
  coordinator->tick();
  ASSERT_TRUE(jb->has_value());
  EXPECT_EQ((*jb)->generation_id, 2);
  EXPECT_EQ((*jb)->leader, b);
  EXPECT_EQ(coordinator->heartbeat("g", a, std::nullopt, 2), ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST_F(GroupCoordinatorTest, CommitsAreCheckedAgainstMemberAndGeneration) {
  std::string a = stable_single_member();
  EXPECT_EQ(commit_offsets(commit(a, 1, 10))[0], ErrorCode::NONE);
  EXPECT_EQ(committed(), 10);
  EXPECT_EQ(commit_offsets(commit(a, 0, 11))[0], ErrorCode::ILLEGAL_GENERATION);
  EXPECT_EQ(commit_offsets(commit("zombie", 1, 12))[0], ErrorCode::UNKNOWN_MEMBER_ID);
  // Without membership (admin tools) an active group refuses the commit.
  EXPECT_EQ(commit_offsets(commit("", -1, 13))[0], ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(committed(), 10) << "rejected commits change nothing";

  auto unknown_topic = commit(a, 1, 14);
  unknown_topic.partitions[0].topic = "missing";
  EXPECT_EQ(commit_offsets(unknown_topic)[0], ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  auto big = commit(a, 1, 15);
  big.partitions[0].metadata = std::string(5000, 'x');
  EXPECT_EQ(commit_offsets(big)[0], ErrorCode::OFFSET_METADATA_TOO_LARGE);
}

TEST_F(GroupCoordinatorTest, SimpleCommitsCreateAGroupWithoutMembers) {
  EXPECT_EQ(commit_offsets(commit("", -1, 7))[0], ErrorCode::NONE);
  EXPECT_EQ(committed(), 7);
  EXPECT_EQ(coordinator->describe("g").state, "Empty");
  CommitRequest stale = commit("m", 3, 8);
  stale.group_id = "never-created";
  stale.api_version = 8;
  EXPECT_EQ(commit_offsets(stale)[0], ErrorCode::ILLEGAL_GENERATION);
  stale.api_version = 9;  // from v9 the group is reported missing
  EXPECT_EQ(commit_offsets(stale)[0], ErrorCode::GROUP_ID_NOT_FOUND);
}

TEST_F(GroupCoordinatorTest, OffsetsAndGroupSurviveAReload) {
  std::string a = stable_single_member();
  ASSERT_EQ(commit_offsets(commit(a, 1, 99))[0], ErrorCode::NONE);
  coordinator = make_coordinator();
  EXPECT_EQ(committed(), 99);
  auto d = coordinator->describe("g");
  EXPECT_EQ(d.state, "Stable");
  ASSERT_EQ(d.members.size(), 1u);
  EXPECT_EQ(d.members[0].member_id, a);
  EXPECT_EQ(d.members[0].assignment, std::vector<uint8_t>{42});
  EXPECT_EQ(coordinator->heartbeat("g", a, std::nullopt, 1), ErrorCode::NONE);
}

TEST_F(GroupCoordinatorTest, StaticMemberRestartKeepsTheGeneration) {
  auto r = join_request("");
  r.group_instance_id = "instance-1";
  auto first = join(r);
  ASSERT_TRUE(first->has_value());
  ASSERT_EQ((*first)->error, ErrorCode::NONE);
  std::string old_id = (*first)->member_id;
  ASSERT_EQ((*sync(old_id, 1, {{old_id, {5}}}))->error, ErrorCode::NONE);

  auto again = join(r);  // same instance id, no member id: a restart
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->error, ErrorCode::NONE);
  EXPECT_EQ((*again)->generation_id, 1) << "no rebalance";
  EXPECT_TRUE((*again)->skip_assignment);
  std::string new_id = (*again)->member_id;
  EXPECT_NE(new_id, old_id);
  EXPECT_EQ(coordinator->heartbeat("g", old_id, std::string("instance-1"), 1), ErrorCode::FENCED_INSTANCE_ID);
  EXPECT_EQ(coordinator->heartbeat("g", new_id, std::string("instance-2"), 1), ErrorCode::UNKNOWN_MEMBER_ID)
      << "an instance id the group does not know";
  auto s = sync(new_id, 1);
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->assignment, std::vector<uint8_t>{5});
}

TEST_F(GroupCoordinatorTest, InconsistentProtocolAndMaxSize) {
  std::string a = stable_single_member();
  auto other = join_request("");
  other.require_known_member_id = false;
  other.protocol_type = "connect";
  auto res = join(other);
  ASSERT_TRUE(res->has_value());
  EXPECT_EQ((*res)->error, ErrorCode::INCONSISTENT_GROUP_PROTOCOL);

  auto no_common = join_request("");
  no_common.require_known_member_id = false;
  no_common.protocols = {{"roundrobin", {}}};
  res = join(no_common);
  ASSERT_TRUE(res->has_value());
  EXPECT_EQ((*res)->error, ErrorCode::INCONSISTENT_GROUP_PROTOCOL);

  gc.max_size = 1;
  coordinator = make_coordinator();
  auto extra = join_request("");
  extra.require_known_member_id = false;
  res = join(extra);
  ASSERT_TRUE(res->has_value());
  EXPECT_EQ((*res)->error, ErrorCode::GROUP_MAX_SIZE_REACHED);
  EXPECT_EQ(coordinator->describe("g").members.size(), 1u) << "nothing else changed";
  EXPECT_EQ(coordinator->heartbeat("g", a, std::nullopt, 1), ErrorCode::NONE);
}

TEST_F(GroupCoordinatorTest, LeaveAndDeleteGroup) {
  std::string a = stable_single_member();
  ASSERT_EQ(commit_offsets(commit(a, 1, 5))[0], ErrorCode::NONE);
  EXPECT_EQ(delete_group("g"), ErrorCode::NON_EMPTY_GROUP);
  auto left = coordinator->leave("g", {{"nobody", std::nullopt}, {a, std::nullopt}});
  EXPECT_EQ(left.error, ErrorCode::NONE);
  EXPECT_EQ(left.members, (std::vector<ErrorCode>{ErrorCode::UNKNOWN_MEMBER_ID, ErrorCode::NONE}));
  EXPECT_EQ(coordinator->describe("g").state, "Empty");
  EXPECT_EQ(delete_group("g"), ErrorCode::NONE);
  EXPECT_EQ(delete_group("g"), ErrorCode::GROUP_ID_NOT_FOUND);
  coordinator = make_coordinator();
  EXPECT_EQ(coordinator->describe("g").state, "Dead") << "the tombstones survive a reload";
  EXPECT_EQ(committed(), -1);
}

TEST_F(GroupCoordinatorTest, EmptyGroupOffsetsExpireAfterRetention) {
  gc.offsets_retention_ms = 60000;
  gc.retention_check_interval_ms = 1000;
  coordinator = make_coordinator();
  std::string a = stable_single_member();
  ASSERT_EQ(commit_offsets(commit(a, 1, 5))[0], ErrorCode::NONE);
  now += 120000;  // an active group keeps its offsets however old
  EXPECT_EQ(coordinator->heartbeat("g", a, std::nullopt, 1), ErrorCode::NONE);
  coordinator->tick();
  EXPECT_EQ(committed(), 5);
  ASSERT_EQ(coordinator->leave("g", {{a, std::nullopt}}).members[0], ErrorCode::NONE);
  now += 30000;
  coordinator->tick();
  EXPECT_EQ(committed(), 5);
  now += 31000;
  coordinator->tick();
  EXPECT_EQ(committed(), -1);
  EXPECT_EQ(coordinator->describe("g").state, "Dead");
}

TEST_F(GroupCoordinatorTest, OffsetDeleteRespectsSubscriptions) {
  // ConsumerProtocolSubscription v0: version, [topics], user data.
  std::vector<uint8_t> subscription = {0, 0, 0, 0, 0, 1, 0, 6, 'e', 'v', 'e', 'n', 't', 's', 0xff, 0xff, 0xff, 0xff};
  std::string a = new_member_id();
  auto ja = join(join_request(a, subscription));
  ASSERT_TRUE(ja->has_value());
  ASSERT_EQ((*sync(a, 1, {{a, {}}}))->error, ErrorCode::NONE);
  ASSERT_EQ(commit_offsets(commit(a, 1, 5))[0], ErrorCode::NONE);
  std::vector<ErrorCode> errors;
  EXPECT_EQ(delete_offsets("g", {{"events", {0}}}, errors), ErrorCode::NONE);
  EXPECT_EQ(errors, std::vector<ErrorCode>{ErrorCode::GROUP_SUBSCRIBED_TO_TOPIC});
  EXPECT_EQ(committed(), 5);
  ASSERT_EQ(coordinator->leave("g", {{a, std::nullopt}}).members[0], ErrorCode::NONE);
  errors.clear();
  EXPECT_EQ(delete_offsets("g", {{"events", {0}}}, errors), ErrorCode::NONE);
  EXPECT_EQ(errors, std::vector<ErrorCode>{ErrorCode::NONE});
  EXPECT_EQ(committed(), -1);
  EXPECT_EQ(delete_offsets("nope", {{"events", {0}}}, errors), ErrorCode::GROUP_ID_NOT_FOUND);
}

TEST_F(GroupCoordinatorTest, DeletingATopicDeletesItsOffsets) {
  ASSERT_EQ(commit_offsets(commit("", -1, 7))[0], ErrorCode::NONE);
  auto image = std::make_shared<MetadataImage>(*services.metadata.current());
  auto topics = std::make_shared<TopicsImage>(*image->topics);
  auto events = topics->by_name.at("events");
  topics->by_name.erase("events");
  topics->by_id.erase(events->id);
  image->topics = topics;
  coordinator->on_image(*image);
  EXPECT_EQ(committed(), -1);
  coordinator = make_coordinator();
  EXPECT_EQ(committed(), -1) << "the tombstones were written";
}

// Failover: losing the leadership of the group's partition drops the group
// (parked requests hear NOT_COORDINATOR); leading it again reloads it from
// the log. A new leader epoch with this node still leader keeps it as is.
TEST_F(GroupCoordinatorTest, GroupsFollowTheLeadershipOfTheirPartition) {
  std::string a = stable_single_member();
  ASSERT_EQ(commit_offsets(commit(a, 1, 42))[0], ErrorCode::NONE);
  std::string b = new_member_id();
  auto jb = join(join_request(b));
  ASSERT_FALSE(jb->has_value());

  coordinator->on_image(*offsets_led_by(1, 1));  // same leader, new epoch
  coordinator->await_loads();
  EXPECT_FALSE(jb->has_value()) << "the parked join is still parked";
  EXPECT_EQ(coordinator->check("g"), ErrorCode::NONE);
  EXPECT_EQ(coordinator->describe("g").state, "PreparingRebalance");

  coordinator->on_image(*offsets_led_by(2, 2));  // another broker leads now
  ASSERT_TRUE(jb->has_value());
  EXPECT_EQ((*jb)->error, ErrorCode::NOT_COORDINATOR);
  EXPECT_EQ(coordinator->check("g"), ErrorCode::NOT_COORDINATOR);
  EXPECT_EQ(commit_offsets(commit(a, 1, 43))[0], ErrorCode::NOT_COORDINATOR);
  EXPECT_EQ(coordinator->heartbeat("g", a, std::nullopt, 1), ErrorCode::NOT_COORDINATOR);

  coordinator->on_image(*offsets_led_by(1, 3));  // and back
  coordinator->await_loads();
  EXPECT_EQ(coordinator->check("g"), ErrorCode::NONE);
  EXPECT_EQ(committed(), 42);
  auto d = coordinator->describe("g");
  EXPECT_EQ(d.state, "Stable") << "the last stored generation, as Kafka reloads it";
  ASSERT_EQ(d.members.size(), 1u);
  EXPECT_EQ(d.members[0].member_id, a);
  EXPECT_EQ(coordinator->heartbeat("g", a, std::nullopt, 1), ErrorCode::NONE);
}

// Replicated writes can complete out of order; memory ends as the log
// reads (the write at the higher offset wins), whatever the order.
TEST(GroupOffsets, LaterWriteWinsWhateverTheCompletionOrder) {
  Group g("g", 0, 0);
  const std::pair<std::string, int32_t> tp{"t", 0};
  OffsetAndMetadata v10, v11;
  v10.offset = 10;
  v11.offset = 11;
  g.apply_offset(tp, v11, 8);
  g.apply_offset(tp, v10, 7);  // completes after the later write
  EXPECT_EQ(g.offsets().at(tp).offset, 11);
  g.apply_offset(tp, std::nullopt, 6);  // an older tombstone
  EXPECT_EQ(g.offsets().count(tp), 1u);
  g.apply_offset(tp, std::nullopt, 9);
  EXPECT_EQ(g.offsets().count(tp), 0u);
  g.apply_offset(tp, v10, 5);
  EXPECT_EQ(g.offsets().count(tp), 0u) << "a commit older than the tombstone stays deleted";
  g.apply_offset(tp, v10, -1);  // loading replays in order: always applies
  EXPECT_EQ(g.offsets().at(tp).offset, 10);
}

TEST_F(GroupCoordinatorTest, GroupsOfPartitionsNotLedHereAreRefused) {
  EXPECT_EQ(coordinator->check("g"), ErrorCode::NONE);
  gc.offsets_partitions = 2;  // partition_for may now pick partition 1, which does not exist
  auto c = std::make_unique<GroupCoordinator>(services, gc);
  c->on_image(*services.metadata.current());
  std::string other;
  for (int i = 0; other.empty() && i < 1000; ++i)
    if (c->partition_for("g" + std::to_string(i)) == 1) other = "g" + std::to_string(i);
  EXPECT_EQ(c->check(other), ErrorCode::NOT_COORDINATOR);
  auto slot = std::make_shared<std::optional<JoinResult>>();
  auto r = join_request("");
  r.group_id = other;
  c->join(r, [slot](JoinResult res) { *slot = std::move(res); });
  ASSERT_TRUE(slot->has_value());
  EXPECT_EQ((*slot)->error, ErrorCode::NOT_COORDINATOR);
}

}  // namespace
}  // namespace samsa::broker::group
