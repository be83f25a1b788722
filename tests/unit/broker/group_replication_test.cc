// The group coordinator on a replicated __consumer_offsets partition (this
// broker leads, broker 2 follows): a commit is answered, and visible to
// OffsetFetch, only once the follower has it; a write the ISR cannot take
// (timeout, min.insync.replicas) is COORDINATOR_NOT_AVAILABLE and changes
// nothing. A real ReplicaManager with the broker's wiring (FetchWaiters and
// a Scheduler for the acks=-1 wait); the follower's fetches are simulated.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/fetch/fetch_waiters.h"
#include "samsa/broker/group/group_coordinator.h"
#include "samsa/broker/replica/partition.h"
#include "samsa/broker/replica/replica_manager.h"
#include "samsa/broker/scheduler.h"
#include "samsa/broker/txn/txn_marker_written.h"
#include "samsa/protocol/error_code.h"
#include "single_node_env.h"

namespace samsa::broker::group {
namespace {

using protocol::ErrorCode;
namespace fs = std::filesystem;

std::shared_ptr<TopicImage> topic_image(const std::string& name, uint8_t id, std::vector<int32_t> replicas,
                                        std::vector<int32_t> isr) {
  auto topic = std::make_shared<TopicImage>();
  topic->name = name;
  topic->id.bytes[15] = id;
  PartitionImage pi;
  pi.partition_id = 0;
  pi.replicas = std::move(replicas);
  pi.isr = std::move(isr);
  pi.leader = 1;
  pi.leader_epoch = 1;
  topic->partitions.emplace(0, pi);
  return topic;
}

class GroupReplicationTest : public ::testing::Test {
 protected:
  void start(std::vector<int32_t> isr, const std::string& extra_config = "", int32_t commit_timeout_ms = 5000) {
    dir = test_env::fresh_dir("samsa-group-repl");
    config = test_env::single_node_config(dir.string(), extra_config);
    pm = std::make_unique<ReplicaManager>(config, 1);
    ReplicaManagerWiring wiring;  // as broker.cc wires it
    wiring.on_progress = [this](const std::string& t, int32_t p) { fetch_waiters(&services).notify(t, p); };
    wiring.waiters = &fetch_waiters(&services);
    wiring.scheduler = &scheduler;
    pm->wire(std::move(wiring));
    pm->startup();
    services.node_id = 1;
    services.config = &config;
    services.replicas = pm.get();
    services.scheduler = &scheduler;
    auto image = std::make_shared<MetadataImage>();
    for (int32_t id : {1, 2}) {
      BrokerRegistration b;
      b.id = id;
      b.epoch = 10 + id;
      image->brokers.emplace(id, b);
    }
    auto topics = std::make_shared<TopicsImage>();
    for (auto t : {topic_image(kOffsetsTopic, 9, {1, 2}, isr), topic_image("events", 7, {1}, {1})}) {
      topics->by_name.emplace(t->name, t);
      topics->by_id.emplace(t->id, t);
    }
    image->topics = topics;
    services.metadata.publish(image);
    pm->apply(*image);
    CoordinatorConfig gc;
    gc.offsets_partitions = 1;
    gc.commit_timeout_ms = commit_timeout_ms;
    gc.initial_rebalance_delay_ms = 0;
    coordinator = std::make_unique<GroupCoordinator>(services, gc);
    coordinator->on_image(*image);
    coordinator->await_loads();
  }
  ~GroupReplicationTest() override {
    coordinator.reset();
    scheduler.stop();
    if (pm) pm->shutdown();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  // A simple commit (no membership) of `offset` for events-0.
  std::future<std::vector<ErrorCode>> commit(int64_t offset) {
    CommitRequest r;
    r.group_id = "g";
    r.partitions.push_back({"events", 0, offset, -1, "", -1});
    auto promise = std::make_shared<std::promise<std::vector<ErrorCode>>>();
    auto future = promise->get_future();
    coordinator->commit_offsets(std::move(r), [promise](std::vector<ErrorCode> e) { promise->set_value(e); });
    return future;
  }

  int64_t committed() {
    std::vector<FetchedOffset> out;
    EXPECT_EQ(coordinator->fetch_offsets("g", std::vector<TopicPartitions>{{"events", {0}}}, out), ErrorCode::NONE);
    return out.empty() ? -2 : out[0].offset;
  }

  // Broker 2 fetches __consumer_offsets-0 from the leader's log end; a
  // moved high watermark wakes the waiters, as the Fetch handler does.
  void follower_catches_up() {
    auto p = pm->get(kOffsetsTopic, 0);
    ASSERT_TRUE(p);
    const int64_t end = p->log()->log_end_offset();
    if (p->update_follower_fetch_state(2, -1, end, 0, end)) fetch_waiters(&services).notify(kOffsetsTopic, 0);
  }

  fs::path dir;
  BrokerConfig config;
  Scheduler scheduler;
  std::unique_ptr<ReplicaManager> pm;
  BrokerServices services;
  std::unique_ptr<GroupCoordinator> coordinator;
};

TEST_F(GroupReplicationTest, CommitIsAnsweredAndVisibleOnlyOnceTheFollowerHasIt) {
  start({1, 2});
  auto first = commit(10);
  EXPECT_EQ(first.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
      << "answered before the ISR had the commit";
  EXPECT_EQ(committed(), -1) << "a pending commit is not visible";

  follower_catches_up();
  // Well before offsets.commit.timeout.ms (5 s): the follower's fetch completed it.
  ASSERT_EQ(first.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  EXPECT_EQ(first.get(), std::vector<ErrorCode>{ErrorCode::NONE});
  EXPECT_EQ(committed(), 10);
}

TEST_F(GroupReplicationTest, CommitTheIsrDoesNotTakeInTimeIsCoordinatorNotAvailable) {
  start({1, 2}, "", /*commit_timeout_ms=*/300);
  auto f = commit(10);
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "offsets.commit.timeout.ms ignored";
  EXPECT_EQ(f.get(), std::vector<ErrorCode>{ErrorCode::COORDINATOR_NOT_AVAILABLE});
  EXPECT_EQ(committed(), -1);
}

TEST_F(GroupReplicationTest, IsrBelowMinInsyncIsCoordinatorNotAvailable) {
  start({1}, "min.insync.replicas=2\n");
  auto f = commit(10);
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(f.get(), std::vector<ErrorCode>{ErrorCode::COORDINATOR_NOT_AVAILABLE});
  EXPECT_EQ(committed(), -1);
  EXPECT_EQ(pm->get(kOffsetsTopic, 0)->log()->log_end_offset(), 0) << "refused before the append";
}

// SyncGroup: members get the leader's assignment only once the group
// record holding it is replicated (Kafka's storeGroup callback).
TEST_F(GroupReplicationTest, AssignmentIsHandedOutOnceReplicated) {
  start({1, 2});
  JoinRequest j;
  j.group_id = "g";
  j.client_id = "c";
  j.session_timeout_ms = 10000;
  j.rebalance_timeout_ms = 10000;
  j.protocol_type = "consumer";
  j.protocols = {{"range", {1}}};
  std::promise<JoinResult> joined;
  coordinator->join(j, [&](JoinResult r) { joined.set_value(std::move(r)); });
  auto jf = joined.get_future();
  ASSERT_EQ(jf.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  JoinResult jr = jf.get();
  ASSERT_EQ(jr.error, ErrorCode::NONE);

  SyncRequest sr;
  sr.group_id = "g";
  sr.member_id = jr.member_id;
  sr.generation_id = jr.generation_id;
  sr.assignments = {{jr.member_id, {7}}};
  std::promise<SyncResult> synced;
  coordinator->sync(sr, [&](SyncResult r) { synced.set_value(std::move(r)); });
  auto sf = synced.get_future();
  EXPECT_EQ(sf.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  EXPECT_EQ(coordinator->describe("g").state, "CompletingRebalance");

  follower_catches_up();
  ASSERT_EQ(sf.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  SyncResult result = sf.get();
  EXPECT_EQ(result.error, ErrorCode::NONE);
  EXPECT_EQ(result.assignment, std::vector<uint8_t>{7});
  EXPECT_EQ(coordinator->describe("g").state, "Stable");
}

// A TxnOffsetCommit acknowledged only after the marker that ended its
// transaction was reported (an abort on timeout racing the write): the
// write takes that marker's outcome instead of staying pending for ever.
TEST_F(GroupReplicationTest, TxnCommitAcknowledgedAfterItsAbortMarkerIsDropped) {
  start({1, 2});
  TxnCommitRequest r;
  r.transactional_id = "tx";
  r.group_id = "g";
  r.producer_id = 1000;
  r.producer_epoch = 0;
  r.partitions.push_back({"events", 0, 10, -1, std::nullopt});
  std::promise<std::vector<ErrorCode>> answered;
  coordinator->commit_txn_offsets(r, [&](std::vector<ErrorCode> e) { answered.set_value(std::move(e)); });
  auto f = answered.get_future();
  EXPECT_EQ(f.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  const int64_t write_end = pm->get(kOffsetsTopic, 0)->log()->log_end_offset();
  txn::TxnMarkerWritten m;
  m.topic = kOffsetsTopic;
  m.partition = 0;
  m.producer_id = 1000;
  m.producer_epoch = 0;
  m.commit = false;
  m.marker_offset = write_end;  // where the marker went, after the write
  coordinator->on_txn_marker_written(m);

  follower_catches_up();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  EXPECT_EQ(f.get(), std::vector<ErrorCode>{ErrorCode::NONE});
  std::vector<FetchedOffset> out;
  ASSERT_EQ(coordinator->fetch_offsets("g", std::vector<TopicPartitions>{{"events", {0}}}, out, true), ErrorCode::NONE);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, ErrorCode::NONE) << "still pending after its transaction ended";
  EXPECT_EQ(out[0].offset, -1);
}

}  // namespace
}  // namespace samsa::broker::group
