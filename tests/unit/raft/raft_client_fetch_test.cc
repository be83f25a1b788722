// The leader's side of replication: fetch long-poll and DescribeQuorum state.
#include <gtest/gtest.h>

#include "raft_test_harness.h"

namespace samsa::raft {
namespace {

// Three voters (node 1 leads) and observer 9, settled.
Harness settled_cluster() {
  Harness h;
  h.voters = {1, 2, 3};
  h.add(1, 0.0);
  h.add(2, 0.5);
  h.add(3, 0.99);
  h.add(9, 0.0);
  h.start();
  h.run(300);
  return h;
}

TEST(RaftFetchTest, IdleFollowersWaitAtTheLeaderInsteadOfPolling) {
  Harness h = settled_cluster();
  ASSERT_EQ(h.nodes[1].client->role(), Role::kLeader);
  int fetches = 0;
  h.on_deliver = [&](const RaftMessage& m) { fetches += std::holds_alternative<FetchRequest>(m.payload); };
  h.run(500);
  // Nothing was written: each of the 3 fetchers asks about once per 50 ms
  // wait (the harness answers instantly), not once per millisecond.
  EXPECT_LE(fetches, 3 * (500 / 50 + 2));
  EXPECT_GE(fetches, 3 * (500 / 50 - 1));
  EXPECT_EQ(h.nodes[1].client->role(), Role::kLeader);  // long-poll keeps check-quorum fed
}

TEST(RaftFetchTest, AnAppendCommitsAndReachesFollowersInAboutOneRoundTrip) {
  Harness h = settled_cluster();
  RaftClient& leader = *h.nodes[1].client;
  ASSERT_EQ(leader.role(), Role::kLeader);
  h.run(20);  // mid-wait: every follower's fetch is parked at the leader
  auto base = leader.append({"a", "b"});
  ASSERT_TRUE(base.has_value());
  Offset end = *base + 2;
  // 1 ms: the parked fetches are answered with the entry; 2 ms: the
  // followers' next fetches report it and the leader commits; 3 ms: the
  // high watermark reaches the parked fetchers.
  h.run(3);
  EXPECT_EQ(leader.high_watermark(), end);
  for (NodeId id : {2, 3, 9}) EXPECT_EQ(h.nodes[id].client->high_watermark(), end) << "node " << id;
}

TEST(RaftFetchTest, QuorumInfoDescribesVotersAndObservers) {
  Harness h = settled_cluster();
  RaftClient& leader = *h.nodes[1].client;
  ASSERT_EQ(leader.role(), Role::kLeader);
  EXPECT_FALSE(h.nodes[2].client->quorum_info().has_value());  // followers do not know
  leader.append({"x"});
  h.run(10);
  auto info = leader.quorum_info();
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->leader_id, 1);
  EXPECT_EQ(info->leader_epoch, leader.epoch());
  EXPECT_EQ(info->high_watermark, h.nodes[1].log.end_offset());
  ASSERT_EQ(info->current_voters.size(), 3u);
  int64_t now = h.time.now_ms();
  for (const auto& v : info->current_voters) {
    EXPECT_EQ(v.log_end_offset, h.nodes[1].log.end_offset()) << v.replica_id;
    EXPECT_GE(v.last_fetch_timestamp, now - 60) << v.replica_id;
    EXPECT_GE(v.last_caught_up_timestamp, now - 60) << v.replica_id;
  }
  EXPECT_EQ(info->current_voters[0].replica_id, 1);
  EXPECT_EQ(info->current_voters[0].last_fetch_timestamp, now);  // the leader itself
  ASSERT_EQ(info->observers.size(), 1u);
  EXPECT_EQ(info->observers[0].replica_id, 9);
  EXPECT_EQ(info->observers[0].log_end_offset, h.nodes[1].log.end_offset());

  // Node 3 stops fetching: its fetch time and caught-up time stay behind
  // while the leader writes on.
  int64_t cut_at = h.time.now_ms();
  h.on_deliver = nullptr;
  for (int i = 0; i < 100; ++i) {
    h.time.advance(1);
    std::deque<RaftMessage> keep;
    for (auto& m : h.wire)
      if (m.from != 3 && m.to != 3) keep.push_back(m);
    h.wire.clear();
    for (auto& m : keep) h.nodes.at(m.to).client->handle(m);
    for (auto& [id, n] : h.nodes) n.client->poll();
    if (i % 10 == 0) leader.append({"more"});
  }
  info = leader.quorum_info();
  ASSERT_TRUE(info.has_value());
  const ReplicaState& lagging = info->current_voters[2];
  EXPECT_EQ(lagging.replica_id, 3);
  EXPECT_LE(lagging.last_fetch_timestamp, cut_at);
  EXPECT_LE(lagging.last_caught_up_timestamp, cut_at);
  EXPECT_LT(lagging.log_end_offset, h.nodes[1].log.end_offset());
  EXPECT_GT(info->current_voters[1].last_caught_up_timestamp, cut_at + 50);
}

TEST(RaftFetchTest, AParkedFetchIsAnsweredWhenItsWaitEndsOrTheLeaderStepsDown) {
  Harness h;
  h.voters = {1, 2};
  h.add(1, 0.0);
  h.add(2, 0.9);
  h.start();
  h.run(300);
  RaftClient& leader = *h.nodes[1].client;
  ASSERT_EQ(leader.role(), Role::kLeader);
  // Hand-deliver one fetch at the end of the log: no answer until 50 ms.
  h.wire.clear();
  RaftMessage fetch{2, 1, 777,
                    FetchRequest{leader.epoch(), 2, h.nodes[1].log.end_offset(), leader.epoch(), 50}};
  leader.handle(fetch);
  auto answered = [&] {
    for (auto& m : h.wire)
      if (m.correlation_id == 777) return true;
    return false;
  };
  for (int i = 0; i < 49; ++i) {
    h.time.advance(1);
    leader.poll();
  }
  EXPECT_FALSE(answered());
  h.time.advance(1);
  leader.poll();
  ASSERT_TRUE(answered());
  // Parked again; then a newer epoch makes the leader step down: answered
  // at once, with the error that tells the fetcher to look again.
  h.wire.clear();
  leader.handle(fetch);
  EXPECT_FALSE(answered());
  leader.handle(RaftMessage{2, 1, 5, BeginQuorumEpochRequest{leader.epoch() + 1, 2}});
  ASSERT_TRUE(answered());
  for (auto& m : h.wire) {
    if (m.correlation_id == 777) {
      EXPECT_EQ(std::get<FetchResponse>(m.payload).error, RaftError::kFencedLeaderEpoch);
    }
  }
}

}  // namespace
}  // namespace samsa::raft

namespace samsa::raft {
namespace {

TEST(RaftSnapshotTest, ALaggingFollowerCatchesUpByFetchingTheLeadersSnapshotInChunks) {
  Harness h;
  h.voters = {1, 2, 3};
  h.add(1, 0.0);
  h.add(2, 0.5);
  h.add(3, 0.99);
  h.start();
  for (auto& [id, n] : h.nodes) {
    RaftConfig c = n.client->config();
    c.fetch_snapshot_max_bytes = 7;
    n.client = std::make_unique<RaftClient>(c, h.time, *n.random, n.out, n.log, n.store);
  }
  h.run(300);
  RaftClient& leader = *h.nodes[1].client;
  ASSERT_EQ(leader.role(), Role::kLeader);
  // Node 3 is cut off while the leader commits more and snapshots.
  int snapshot_fetches = 0;
  h.on_deliver = [&](const RaftMessage& m) {
    snapshot_fetches += std::holds_alternative<FetchSnapshotRequest>(m.payload);
  };
  for (int i = 0; i < 60; ++i) {
    h.time.advance(1);
    std::deque<RaftMessage> keep;
    for (auto& m : h.wire)
      if (m.from != 3 && m.to != 3) keep.push_back(m);
    h.wire.clear();
    for (auto& m : keep) h.nodes.at(m.to).client->handle(m);
    for (auto& [id, n] : h.nodes) n.client->poll();
    if (i % 5 == 0) leader.append({"v" + std::to_string(i), "w"});
  }
  Offset hw = leader.high_watermark();
  ASSERT_GT(hw, 10);
  Epoch epoch = h.nodes[1].log.last_fetched_epoch();
  // Not committed, not newer, or not ending on an entry of that epoch: refused.
  EXPECT_FALSE(leader.create_snapshot({h.nodes[1].log.end_offset() + 2, epoch}, "x"));
  EXPECT_FALSE(leader.create_snapshot({hw, epoch + 1}, "x"));
  const std::string content = "the state machine below the high watermark";
  ASSERT_TRUE(leader.create_snapshot({hw, epoch}, content));
  EXPECT_FALSE(leader.create_snapshot({hw, epoch}, content));
  EXPECT_EQ(h.nodes[1].log.start_offset(), hw);
  // Node 3 comes back: its fetch is below the leader's log start, so it
  // fetches the snapshot (7-byte chunks), resets its log to it, and fetches
  // on from there.
  h.run(200);
  EXPECT_GE(snapshot_fetches, static_cast<int>(content.size() / 7));
  RaftClient& f = *h.nodes[3].client;
  EXPECT_EQ(f.take_loaded_snapshot(), (std::optional<OffsetAndEpoch>{OffsetAndEpoch{hw, epoch}}));
  EXPECT_FALSE(f.take_loaded_snapshot().has_value());  // reported once
  EXPECT_EQ(h.nodes[3].log.read_snapshot({hw, epoch}), std::optional<std::string>(content));
  EXPECT_EQ(h.nodes[3].log.start_offset(), hw);
  EXPECT_EQ(h.nodes[3].log.end_offset(), h.nodes[1].log.end_offset());
  EXPECT_EQ(h.nodes[3].log.batches(), h.nodes[1].log.batches());
  EXPECT_EQ(f.high_watermark(), leader.high_watermark());
  // Node 2 kept up: it never needed the snapshot.
  EXPECT_FALSE(h.nodes[2].client->take_loaded_snapshot().has_value());
}

}  // namespace
}  // namespace samsa::raft
