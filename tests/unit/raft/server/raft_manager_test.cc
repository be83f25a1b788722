// RaftManagers of three (and one) nodes in one process, talking Kafka RPCs
// over loopback sockets: election, replication to every listener in order,
// failover when the leader stops, catch-up of a restarted node, snapshots.
#include "samsa/raft/server/raft_manager.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "samsa/net/io_context_pool.h"
#include "samsa/net/tcp_server.h"
#include "samsa/raft/server/raft_frame_handler.h"
#include "samsa/raft/server/raft_rpc.h"

namespace samsa::raft {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Everything a node's listener saw.
class RecordingListener final : public MetadataListener {
 public:
  void handle_load_snapshot(OffsetAndEpoch id, const std::vector<std::string>& records) override {
    std::lock_guard lock(mu);
    snapshots.push_back(id);
    data = records;
    next = id.offset;
    cv.notify_all();
  }
  void handle_commit(const CommittedBatch& batch) override {
    std::lock_guard lock(mu);
    if (batch.base_offset != next) gaps = true;  // must be contiguous, in order
    next = batch.last_offset + 1;
    if (!batch.control) data.insert(data.end(), batch.records.begin(), batch.records.end());
    cv.notify_all();
  }
  void handle_leader_change(LeaderAndEpoch leader) override {
    std::lock_guard lock(mu);
    leaders.push_back(leader);
    leader_announced_at.push_back(next);
    cv.notify_all();
  }
  std::vector<std::string> records() {
    std::lock_guard lock(mu);
    return data;
  }
  bool wait_for_records(size_t n, std::chrono::milliseconds limit = 10s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] { return data.size() >= n; });
  }

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> data;
  std::vector<OffsetAndEpoch> snapshots;
  std::vector<LeaderAndEpoch> leaders;
  std::vector<Offset> leader_announced_at;
  Offset next = 0;
  bool gaps = false;
};

struct Node {
  NodeId id = 0;
  fs::path dir;
  RaftFrameHandler handler;
  std::unique_ptr<net::TcpServer> server;
  uint16_t port = 0;
  std::unique_ptr<RecordingListener> listener;
  std::unique_ptr<RaftManager> raft;
};

class RaftManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base = fs::temp_directory_path() /
           ("samsa-raftmgr-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base);
    pool.start();
  }
  void TearDown() override {
    for (auto& n : nodes) stop_node(*n);
    for (auto& n : nodes) {
      n->server->stop_accepting();
      n->server->drain(1s);
    }
    pool.stop();
    nodes.clear();
    fs::remove_all(base);
  }

  void make_nodes(int count) {
    for (int i = 1; i <= count; ++i) {
      auto n = std::make_unique<Node>();
      n->id = i;
      n->dir = base / ("node-" + std::to_string(i));
      fs::create_directories(n->dir);
      n->server = std::make_unique<net::TcpServer>(pool, net::ConnectionOptions{});
      n->port = n->server->listen(net::ListenerConfig{"CONTROLLER", "127.0.0.1", 0, &n->handler});
      n->server->start_accepting();
      nodes.push_back(std::move(n));
    }
  }
  RaftManagerOptions options_for(const Node& n) {
    RaftManagerOptions o;
    o.raft.node_id = n.id;
    for (const auto& m : nodes) {
      o.raft.voters.push_back(m->id);
      o.voter_endpoints[m->id] = net::Endpoint{"127.0.0.1", m->port};
    }
    o.raft.election_timeout_ms = 300;
    o.raft.election_backoff_max_ms = 300;
    o.raft.fetch_timeout_ms = 1000;
    o.raft.request_timeout_ms = 1500;
    o.raft.retry_backoff_ms = 20;
    o.cluster_id = "test-cluster";
    o.metadata_dir = n.dir.string();
    o.on_io_error = [](const std::string& why) { ADD_FAILURE() << "I/O error: " << why; };
    return o;
  }
  void start_node(Node& n) {
    n.listener = std::make_unique<RecordingListener>();
    n.raft = std::make_unique<RaftManager>(options_for(n));
    n.raft->register_listener(n.listener.get());
    n.handler.set(n.raft.get());
    n.raft->start();
  }
  void stop_node(Node& n) {
    if (!n.raft) return;
    n.raft->stop();
    n.handler.set(nullptr);
    n.raft.reset();
  }
  // The one node all running nodes agree leads (and that knows it), or null.
  Node* wait_for_leader(std::chrono::milliseconds limit = 10s, Epoch above = 0) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      std::optional<LeaderAndEpoch> seen;
      bool agree = true;
      for (auto& n : nodes) {
        if (!n->raft) continue;
        auto l = n->raft->leader();
        if (l.leader_id == kNoNode || l.epoch <= above || (seen && *seen != l)) agree = false;
        seen = l;
      }
      if (agree && seen) {
        for (auto& n : nodes)
          if (n->raft && n->id == seen->leader_id && n->raft->status().role == Role::kLeader) return n.get();
      }
      std::this_thread::sleep_for(10ms);
    }
    return nullptr;
  }
  // Appends one batch on whichever node leads, retrying across elections.
  Offset append_somewhere(std::vector<std::string> records) {
    auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
      if (Node* leader = wait_for_leader(5s)) {
        auto r = leader->raft->append(leader->raft->leader().epoch, records);
        if (auto* offset = std::get_if<Offset>(&r)) return *offset;
      }
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "no append succeeded";
    return -1;
  }

  fs::path base;
  net::IoContextPool pool{2};
  std::vector<std::unique_ptr<Node>> nodes;
};

TEST_F(RaftManagerTest, ThreeNodesElectReplicateFailOverAndCatchUp) {
  make_nodes(3);
  for (auto& n : nodes) start_node(*n);
  Node* leader = wait_for_leader();
  ASSERT_NE(leader, nullptr);
  const Epoch first_epoch = leader->raft->leader().epoch;

  std::vector<std::string> expected;
  for (int i = 0; i < 10; ++i) {
    std::vector<std::string> batch = {"a" + std::to_string(i), "b" + std::to_string(i)};
    auto r = leader->raft->append(first_epoch, batch);
    ASSERT_TRUE(std::holds_alternative<Offset>(r));
    expected.insert(expected.end(), batch.begin(), batch.end());
  }
  // A wrong epoch is refused.
  EXPECT_EQ(std::get<AppendError>(leader->raft->append(first_epoch + 7, {"x"})), AppendError::kNotLeader);
  for (auto& n : nodes) {
    ASSERT_TRUE(n->listener->wait_for_records(expected.size())) << "node " << n->id;
    EXPECT_EQ(n->listener->records(), expected) << "node " << n->id;
  }
  // The leader heard of its own leadership only once the earlier epochs were delivered.
  {
    std::lock_guard lock(leader->listener->mu);
    ASSERT_FALSE(leader->listener->leaders.empty());
    bool announced = false;
    for (size_t i = 0; i < leader->listener->leaders.size(); ++i)
      if (leader->listener->leaders[i] == LeaderAndEpoch{leader->id, first_epoch}) announced = true;
    EXPECT_TRUE(announced);
  }

  // The leader stops: another is elected in a later epoch and appends commit.
  Node* old = leader;
  stop_node(*old);
  Node* next = wait_for_leader(10s, first_epoch);
  ASSERT_NE(next, nullptr);
  EXPECT_NE(next->id, old->id);
  for (int i = 0; i < 5; ++i) {
    std::string rec = "after-failover-" + std::to_string(i);
    ASSERT_GE(append_somewhere({rec}), 0);
    expected.push_back(rec);
  }
  for (auto& n : nodes) {
    if (!n->raft) continue;
    ASSERT_TRUE(n->listener->wait_for_records(expected.size())) << "node " << n->id;
    EXPECT_EQ(n->listener->records(), expected) << "node " << n->id;
  }
  // The new leader was told of its leadership only after it had delivered
  // everything the first epoch committed (its LeaderChange + 10 batches of 2).
  {
    Node* now_leading = wait_for_leader(5s);
    ASSERT_NE(now_leading, nullptr);
    const LeaderAndEpoch mine = now_leading->raft->leader();
    std::unique_lock lock(now_leading->listener->mu);
    now_leading->listener->cv.wait_for(lock, 5s, [&] {
      const auto& seen = now_leading->listener->leaders;
      return std::find(seen.begin(), seen.end(), mine) != seen.end();
    });
    bool announced = false;
    for (size_t i = 0; i < now_leading->listener->leaders.size(); ++i) {
      if (now_leading->listener->leaders[i] != mine) continue;
      announced = true;
      EXPECT_GE(now_leading->listener->leader_announced_at[i], 21);
    }
    EXPECT_TRUE(announced);
  }

  // DescribeQuorum: the leader describes all three voters; a follower
  // answers NOT_LEADER_OR_FOLLOWER itself, or relays the leader's answer.
  {
    Node* now_leading = wait_for_leader(5s);
    ASSERT_NE(now_leading, nullptr);
    Node* follower = nullptr;
    for (auto& n : nodes)
      if (n->raft && n.get() != now_leading) follower = n.get();
    ASSERT_NE(follower, nullptr);
    protocol::DescribeQuorumRequest req;
    req.topics.emplace_back();
    req.topics[0].topic_name = "__cluster_metadata";
    req.topics[0].partitions.emplace_back();
    auto ask = [&](Node& n, bool forward) {
      std::promise<protocol::DescribeQuorumResponse> p;
      serve_describe_quorum(*n.raft, req, 2, forward, [&](protocol::DescribeQuorumResponse r) { p.set_value(r); });
      auto f = p.get_future();
      EXPECT_EQ(f.wait_for(5s), std::future_status::ready);
      return f.get();
    };
    auto own = ask(*now_leading, false);
    ASSERT_EQ(own.topics.size(), 1u);
    const auto& lp = own.topics[0].partitions.at(0);
    EXPECT_EQ(lp.error_code, 0);
    EXPECT_EQ(lp.leader_id, now_leading->id);
    EXPECT_EQ(lp.current_voters.size(), 3u);
    EXPECT_EQ(own.nodes.size(), 3u);
    auto refused = ask(*follower, false);
    EXPECT_EQ(refused.topics.at(0).partitions.at(0).error_code, 6);  // NOT_LEADER_OR_FOLLOWER
    EXPECT_EQ(refused.topics.at(0).partitions.at(0).leader_id, now_leading->id);
    auto relayed = ask(*follower, true);
    EXPECT_EQ(relayed.topics.at(0).partitions.at(0).error_code, 0);
    EXPECT_EQ(relayed.topics.at(0).partitions.at(0).leader_id, now_leading->id);
    EXPECT_EQ(relayed.topics.at(0).partitions.at(0).current_voters.size(), 3u);
  }

  // The old leader restarts from its disk and catches up. Its quorum-state
  // still names it leader of the first epoch: it must not look active.
  start_node(*old);
  ASSERT_TRUE(old->listener->wait_for_records(expected.size()));
  EXPECT_EQ(old->listener->records(), expected);
  {
    std::lock_guard lock(old->listener->mu);
    for (const auto& l : old->listener->leaders) EXPECT_NE(l.leader_id, old->id) << "epoch " << l.epoch;
  }
  for (auto& n : nodes) {
    std::lock_guard lock(n->listener->mu);
    EXPECT_FALSE(n->listener->gaps) << "node " << n->id;
  }
}

TEST_F(RaftManagerTest, SingleVoterElectsItselfAndRestartsFromItsSnapshot) {
  make_nodes(1);
  Node& n = *nodes[0];
  start_node(n);
  ASSERT_NE(wait_for_leader(), nullptr);
  Epoch epoch = n.raft->leader().epoch;
  Offset last = -1;
  for (int i = 0; i < 4; ++i) {
    auto r = n.raft->append(epoch, {"r" + std::to_string(i)});
    ASSERT_TRUE(std::holds_alternative<Offset>(r));
    last = std::get<Offset>(r);
  }
  ASSERT_TRUE(n.listener->wait_for_records(4));
  // A snapshot of the state after the first three records.
  {
    auto deadline = Clock::now() + 5s;
    while (n.raft->high_watermark() <= last && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  }
  n.raft->create_snapshot({last, epoch}, {"r0", "r1", "r2"});
  stop_node(n);

  start_node(n);
  ASSERT_TRUE(n.listener->wait_for_records(4));
  EXPECT_EQ(n.listener->records(), (std::vector<std::string>{"r0", "r1", "r2", "r3"}));
  {
    std::lock_guard lock(n.listener->mu);
    ASSERT_EQ(n.listener->snapshots.size(), 1u);
    EXPECT_EQ(n.listener->snapshots[0], (OffsetAndEpoch{last, epoch}));
  }
  ASSERT_NE(wait_for_leader(), nullptr);
  EXPECT_GT(n.raft->leader().epoch, epoch);
  auto r = n.raft->append(n.raft->leader().epoch, {"r4"});
  ASSERT_TRUE(std::holds_alternative<Offset>(r));
  ASSERT_TRUE(n.listener->wait_for_records(5));
  EXPECT_EQ(n.listener->records().back(), "r4");
}

TEST_F(RaftManagerTest, NodeBehindTheLeadersLogStartCatchesUpFromASnapshot) {
  make_nodes(3);
  for (auto& n : nodes) start_node(*n);
  Node* leader = wait_for_leader();
  ASSERT_NE(leader, nullptr);
  Node* lagging = nodes[0].get() == leader ? nodes[1].get() : nodes[0].get();
  stop_node(*lagging);

  // Written while `lagging` is down; then both running nodes snapshot the
  // state and trim their logs below it.
  Epoch epoch = leader->raft->leader().epoch;
  Offset last = -1;
  for (int i = 0; i < 6; ++i) {
    auto r = leader->raft->append(epoch, {"early-" + std::to_string(i)});
    ASSERT_TRUE(std::holds_alternative<Offset>(r));
    last = std::get<Offset>(r);
  }
  std::vector<std::string> state = {"state-as-of-early-5"};
  for (auto& n : nodes) {
    if (!n->raft) continue;
    ASSERT_TRUE(n->listener->wait_for_records(6));
    auto deadline = Clock::now() + 5s;
    while (n->raft->high_watermark() <= last && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
    n->raft->create_snapshot({last + 1, epoch}, state);
  }
  auto r = leader->raft->append(epoch, {"late"});
  ASSERT_TRUE(std::holds_alternative<Offset>(r));

  // The lagging node fetches below the leader's log start: it gets the
  // snapshot, loads it, and then the entries after it.
  start_node(*lagging);
  ASSERT_TRUE(lagging->listener->wait_for_records(2));
  EXPECT_EQ(lagging->listener->records(), (std::vector<std::string>{"state-as-of-early-5", "late"}));
  std::lock_guard lock(lagging->listener->mu);
  ASSERT_FALSE(lagging->listener->snapshots.empty());
  EXPECT_EQ(lagging->listener->snapshots.back(), (OffsetAndEpoch{last + 1, epoch}));
  EXPECT_FALSE(lagging->listener->gaps);
}

TEST_F(RaftManagerTest, StoppedManagerAnswersRequestsAndRefusesAppends) {
  make_nodes(1);
  Node& n = *nodes[0];
  start_node(n);
  ASSERT_NE(wait_for_leader(), nullptr);
  Epoch epoch = n.raft->leader().epoch;
  n.raft->stop();
  EXPECT_EQ(std::get<AppendError>(n.raft->append(epoch, {"late"})), AppendError::kNotLeader);
  bool answered = false;
  n.raft->handle_request(2, VoteRequest{epoch + 1, 2, 0, 0, false},
                         [&](std::optional<RaftPayload> p) { answered = !p.has_value(); });
  EXPECT_TRUE(answered);
}

}  // namespace
}  // namespace samsa::raft

namespace samsa::raft {
namespace {

// KIP-853 over real sockets: node 2 knows no voter, only a bootstrap server
// (node 1, the one voter of a kraft.version 1 quorum); it finds the leader
// through it (Fetch NodeEndpoints) and replicates as an observer, is added by
// AddRaftVoter once caught up (node 1 learns its endpoint from the Voters
// record), survives a restart as a voter, then is removed.
class RaftManagerVotersTest : public RaftManagerTest {};

struct ErrorCodeResult {
  protocol::ErrorCode error;
};

ErrorCodeResult change(const std::function<void(RaftManager::VoterChangeDone)>& start) {
  auto deadline = Clock::now() + 10s;
  protocol::ErrorCode last = protocol::ErrorCode::UNKNOWN_SERVER_ERROR;
  while (Clock::now() < deadline) {
    std::promise<protocol::ErrorCode> p;
    auto f = p.get_future();
    start([&p](protocol::ErrorCode e) { p.set_value(e); });
    last = f.get();
    // Not caught up yet, or the previous change still commits: retry.
    if (last != protocol::ErrorCode::REQUEST_TIMED_OUT) break;
    std::this_thread::sleep_for(50ms);
  }
  return ErrorCodeResult{last};
}

TEST_F(RaftManagerVotersTest, AnObserverIsAddedAsVoterAndRemovedAgain) {
  make_nodes(2);
  auto dynamic = [&](Node& n) {
    RaftManagerOptions o = options_for(n);
    o.raft.kraft_version = 1;
    if (n.id == 1) {  // formatted --standalone: the one initial voter, with its endpoint
      o.raft.voters = {1};
      o.voter_endpoints = {{1, net::Endpoint{"127.0.0.1", nodes[0]->port}}};
      Voter one = voter_with_id(1);
      one.endpoints.push_back({"CONTROLLER", "127.0.0.1", nodes[0]->port, {}});
      o.raft.initial_voters = {one};
    } else {  // --no-initial-controllers: only controller.quorum.bootstrap.servers
      o.raft.voters = {};
      o.raft.bootstrap_ids = {-2};
      o.voter_endpoints = {{-2, net::Endpoint{"127.0.0.1", nodes[0]->port}}};
    }
    n.listener = std::make_unique<RecordingListener>();
    n.raft = std::make_unique<RaftManager>(o);
    n.raft->register_listener(n.listener.get());
    n.handler.set(n.raft.get());
    n.raft->start();
  };
  for (auto& n : nodes) dynamic(*n);
  Node* leader = wait_for_leader();
  ASSERT_NE(leader, nullptr);
  ASSERT_EQ(leader->id, 1);
  append_somewhere({"before"});
  ASSERT_TRUE(nodes[1]->listener->wait_for_records(1));

  Voter two = voter_with_id(2);
  two.endpoints.push_back({"CONTROLLER", "127.0.0.1", nodes[1]->port, {}});
  EXPECT_EQ(change([&](auto done) { leader->raft->add_voter(two, 5000, done); }).error, protocol::ErrorCode::NONE);
  auto d = leader->raft->describe_quorum();
  ASSERT_TRUE(d && d->info);
  ASSERT_EQ(d->info->current_voters.size(), 2u);
  EXPECT_EQ(d->info->current_voters[1].replica_id, 2);
  // Its endpoint, from the Voters record, for DescribeQuorum v2 and forwarding.
  auto endpoints = leader->raft->voter_endpoints();
  ASSERT_TRUE(endpoints.contains(2));
  EXPECT_EQ(endpoints[2].port, nodes[1]->port);
  // Commits now need node 2 too, and still succeed.
  append_somewhere({"with-two"});
  ASSERT_TRUE(nodes[1]->listener->wait_for_records(2));
  // The voter set outlives a restart of node 2 (it is in its log).
  stop_node(*nodes[1]);
  dynamic(*nodes[1]);
  append_somewhere({"after-restart"});
  ASSERT_TRUE(nodes[1]->listener->wait_for_records(3));

  EXPECT_EQ(change([&](auto done) { leader->raft->add_voter(two, 5000, done); }).error,
            protocol::ErrorCode::DUPLICATE_VOTER);
  EXPECT_EQ(change([&](auto done) { leader->raft->remove_voter(2, 5000, done); }).error, protocol::ErrorCode::NONE);
  d = leader->raft->describe_quorum();
  ASSERT_TRUE(d && d->info);
  EXPECT_EQ(d->info->current_voters.size(), 1u);
  EXPECT_FALSE(leader->raft->voter_endpoints().contains(2));
  // Node 1 alone commits again.
  stop_node(*nodes[1]);
  auto r = leader->raft->append(leader->raft->leader().epoch, {"alone"});
  ASSERT_TRUE(std::holds_alternative<Offset>(r));
  auto deadline = Clock::now() + 5s;
  while (leader->raft->high_watermark() <= std::get<Offset>(r) && Clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_GT(leader->raft->high_watermark(), std::get<Offset>(r));
}

// UpdateRaftVoter (KIP-853): a voter restarted on another port asks the
// leader to record its new endpoint; the leader answers the RPC's errors.
TEST_F(RaftManagerVotersTest, AVoterRestartedOnAnotherPortUpdatesItsEndpoint) {
  make_nodes(2);
  Voter two = voter_with_id(2);
  two.voter_directory_id.bytes[0] = 2;
  two.kraft_version_feature.max_supported_version = 1;
  auto dynamic = [&](Node& n, std::optional<Voter> self) {
    RaftManagerOptions o = options_for(n);
    o.raft.kraft_version = 1;
    if (n.id == 1) {
      o.raft.voters = {1};
      o.voter_endpoints = {{1, net::Endpoint{"127.0.0.1", nodes[0]->port}}};
      Voter one = voter_with_id(1);
      one.endpoints.push_back({"CONTROLLER", "127.0.0.1", nodes[0]->port, {}});
      o.raft.initial_voters = {one};
    } else {
      o.raft.voters = {};
      o.raft.bootstrap_ids = {-2};
      o.voter_endpoints = {{-2, net::Endpoint{"127.0.0.1", nodes[0]->port}}};
    }
    o.self_voter = std::move(self);
    n.listener = std::make_unique<RecordingListener>();
    n.raft = std::make_unique<RaftManager>(o);
    n.raft->register_listener(n.listener.get());
    n.handler.set(n.raft.get());
    n.raft->start();
  };
  dynamic(*nodes[0], std::nullopt);
  dynamic(*nodes[1], std::nullopt);
  Node* leader = wait_for_leader();
  ASSERT_NE(leader, nullptr);
  ASSERT_EQ(leader->id, 1);
  append_somewhere({"before"});
  ASSERT_TRUE(nodes[1]->listener->wait_for_records(1));
  two.endpoints.push_back({"CONTROLLER", "127.0.0.1", nodes[1]->port, {}});
  ASSERT_EQ(change([&](auto done) { leader->raft->add_voter(two, 5000, done); }).error, protocol::ErrorCode::NONE);

  // The leader's answers, as the handler sends them.
  auto serve = [](RaftManager& raft, protocol::UpdateRaftVoterRequest req) {
    std::promise<protocol::UpdateRaftVoterResponse> p;
    auto f = p.get_future();
    serve_update_raft_voter(raft, req, [&p](protocol::UpdateRaftVoterResponse r) { p.set_value(std::move(r)); });
    return f.get();
  };
  protocol::UpdateRaftVoterRequest req;
  req.cluster_id = "test-cluster";
  req.current_leader_epoch = leader->raft->leader().epoch;
  req.voter_id = 2;
  req.voter_directory_id = two.voter_directory_id;
  req.listeners.push_back({"CONTROLLER", "127.0.0.1", nodes[1]->port, {}});
  req.kraft_version_feature.max_supported_version = 1;
  auto r = serve(*nodes[1]->raft, req);  // not the leader: names it
  EXPECT_EQ(r.error_code, protocol::code(protocol::ErrorCode::NOT_LEADER_OR_FOLLOWER));
  EXPECT_EQ(r.current_leader.leader_id, 1);
  EXPECT_EQ(r.current_leader.port, nodes[0]->port);
  auto bad = req;
  bad.cluster_id = "other";
  EXPECT_EQ(serve(*leader->raft, bad).error_code, protocol::code(protocol::ErrorCode::INCONSISTENT_CLUSTER_ID));
  bad = req;
  bad.listeners[0].name = "PLAINTEXT";  // no controller listener
  EXPECT_EQ(serve(*leader->raft, bad).error_code, protocol::code(protocol::ErrorCode::INVALID_REQUEST));
  bad = req;
  bad.voter_directory_id.bytes[0] = 9;
  EXPECT_EQ(serve(*leader->raft, bad).error_code, protocol::code(protocol::ErrorCode::VOTER_NOT_FOUND));
  bad = req;
  bad.current_leader_epoch = req.current_leader_epoch + 1;
  EXPECT_EQ(serve(*leader->raft, bad).error_code, protocol::code(protocol::ErrorCode::UNKNOWN_LEADER_EPOCH));

  // Node 2 comes back on a new port, knowing only its own new endpoint.
  stop_node(*nodes[1]);
  nodes[1]->server->stop_accepting();
  nodes[1]->server->drain(1s);
  nodes[1]->server = std::make_unique<net::TcpServer>(pool, net::ConnectionOptions{});
  uint16_t old_port = nodes[1]->port;
  nodes[1]->port = nodes[1]->server->listen(net::ListenerConfig{"CONTROLLER", "127.0.0.1", 0, &nodes[1]->handler});
  nodes[1]->server->start_accepting();
  ASSERT_NE(nodes[1]->port, old_port);
  Voter moved = two;
  moved.endpoints = {{"CONTROLLER", "127.0.0.1", nodes[1]->port, {}}};
  dynamic(*nodes[1], moved);
  auto deadline = Clock::now() + 10s;
  auto port_of_two = [&](RaftManager& raft) {
    auto endpoints = raft.voter_endpoints();
    return endpoints.contains(2) ? endpoints[2].port : 0;
  };
  while (Clock::now() < deadline && (port_of_two(*leader->raft) != nodes[1]->port ||
                                     port_of_two(*nodes[1]->raft) != nodes[1]->port))
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(port_of_two(*leader->raft), nodes[1]->port);
  EXPECT_EQ(port_of_two(*nodes[1]->raft), nodes[1]->port);
  auto d = leader->raft->describe_quorum();
  ASSERT_TRUE(d && d->info);
  EXPECT_EQ(d->info->current_voters.size(), 2u);
  // DescribeQuorum v2 (kafka-metadata-quorum.sh describe) shows the new port.
  std::promise<protocol::DescribeQuorumResponse> dq;
  protocol::DescribeQuorumRequest dq_req;
  dq_req.topics.resize(1);
  dq_req.topics[0].topic_name = "__cluster_metadata";
  dq_req.topics[0].partitions.resize(1);
  serve_describe_quorum(*leader->raft, dq_req, 2, /*forward=*/false,
                        [&dq](protocol::DescribeQuorumResponse r) { dq.set_value(std::move(r)); });
  auto dq_resp = dq.get_future().get();
  auto node2 = std::find_if(dq_resp.nodes.begin(), dq_resp.nodes.end(), [](const auto& n) { return n.node_id == 2; });
  ASSERT_NE(node2, dq_resp.nodes.end());
  ASSERT_EQ(node2->listeners.size(), 1u);
  EXPECT_EQ(node2->listeners[0].port, nodes[1]->port);
  // Still two voters that commit together.
  append_somewhere({"after-move"});
  EXPECT_TRUE(nodes[1]->listener->wait_for_records(2));
}

}  // namespace
}  // namespace samsa::raft
