// RaftClient driven by hand: messages are delivered explicitly, so each test
// walks through one protocol path step by step.
#include "samsa/raft/consensus/raft_client.h"

#include <gtest/gtest.h>

#include "raft_test_harness.h"
#include "samsa/raft/consensus/raft_wire.h"

namespace samsa::raft {
namespace {

TEST(RaftClientTest, SingleVoterElectsItselfAndCommits) {
  Harness h;
  h.voters = {1};
  h.add(1, 0.0);
  h.start();
  // The only voter stands at once: no election timeout to wait out.
  RaftClient& c = *h.nodes[1].client;
  EXPECT_EQ(c.role(), Role::kLeader);
  h.run(150);
  ASSERT_EQ(c.role(), Role::kLeader);
  EXPECT_EQ(c.epoch(), 1);
  ASSERT_TRUE(c.append({"hello"}).has_value());
  h.run(1);
  EXPECT_EQ(c.high_watermark(), 2);  // LeaderChange + "hello"
  EXPECT_EQ(h.nodes[1].store.read()->leader_id, 1);
}

TEST(RaftClientTest, ElectionThenFollowerTruncatesItsDivergingTail) {
  Harness h;
  h.voters = {1, 2, 3};
  h.add(1, 0.0);  // times out first
  h.add(2, 0.5);
  h.add(3, 0.99);
  // Node 1 has the longer epoch history; node 2 holds a stale epoch-1 tail
  // that the leader never had (written by an old epoch-1 leader).
  h.nodes[1].log.append_as_follower({rec(1, "a"), rec(1, "b"), rec(2, "c")});
  h.nodes[2].log.append_as_follower(
      {rec(1, "a"), rec(1, "b"), rec(1, "stale"), rec(1, "stale2")});
  for (auto& [id, n] : h.nodes) n.store.write(ElectionState{2, kNoNode, kNoNode});
  h.start();
  h.run(150);
  RaftClient& leader = *h.nodes[1].client;
  ASSERT_EQ(leader.role(), Role::kLeader);
  EXPECT_EQ(leader.epoch(), 3);
  EXPECT_EQ(h.nodes[2].client->role(), Role::kFollower);
  EXPECT_EQ(h.nodes[2].client->leader_id(), 1);
  h.run(50);
  // Node 2 truncated to offset 2 (end of epoch 1 on the leader) and fetched.
  EXPECT_EQ(h.nodes[2].log.batches(), h.nodes[1].log.batches());
  EXPECT_EQ(h.nodes[3].log.batches(), h.nodes[1].log.batches());
  EXPECT_EQ(leader.high_watermark(), 4);  // through the epoch-3 LeaderChange entry
  EXPECT_EQ(h.nodes[2].client->high_watermark(), 4);
  // Each voter's vote in epoch 3 is on disk.
  EXPECT_EQ(h.nodes[2].store.read()->voted_id, 1);
}

TEST(RaftClientTest, AnAppendIsOneBatchReplicatedAndCommittedAsAUnit) {
  Harness h;
  h.voters = {1, 2, 3};
  h.add(1, 0.0);
  h.add(2, 0.5);
  h.add(3, 0.99);
  h.start();
  h.run(150);
  RaftClient& leader = *h.nodes[1].client;
  ASSERT_EQ(leader.role(), Role::kLeader);
  // The first entry is Kafka's LeaderChange control batch.
  const Entry* change = h.nodes[1].log.entry_at(0);
  ASSERT_NE(change, nullptr);
  EXPECT_TRUE(change->control);
  EXPECT_EQ(change->control_type, kLeaderChangeControlType);
  ASSERT_EQ(change->records.size(), 1u);
  auto message = wire::decode_leader_change(change->records[0]);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->leader_id, 1);
  EXPECT_EQ(message->voters.size(), 3u);
  EXPECT_GE(message->granting_voters.size(), 2u);  // itself and at least one more
  EXPECT_EQ(leader.append({"a", "b", "c"}), std::optional<Offset>(1));
  EXPECT_EQ(leader.append({"d"}), std::optional<Offset>(4));
  EXPECT_FALSE(leader.append({}).has_value());
  EXPECT_FALSE(h.nodes[2].client->append({"x"}).has_value());  // not the leader
  h.run(50);
  EXPECT_EQ(leader.high_watermark(), 5);
  for (NodeId id : {2, 3}) {
    EXPECT_EQ(h.nodes[id].log.batches(), h.nodes[1].log.batches());
    EXPECT_EQ(h.nodes[id].client->high_watermark(), 5);
  }
  ASSERT_EQ(h.nodes[2].log.batches().size(), 3u);
  EXPECT_EQ(h.nodes[2].log.batches()[1].base, 1);
  EXPECT_EQ(h.nodes[2].log.batches()[1].entry.records, (std::vector<std::string>{"a", "b", "c"}));
}

// The follower's old-epoch batch straddles the leader's end of the epoch it
// is told to truncate to: the truncation point must be the follower's own
// batch end (Kafka's truncateToEndOffset), never a cut inside its batch.
TEST(RaftClientTest, DivergenceTruncatesAtTheFollowersBatchBoundary) {
  Harness h;
  h.voters = {1, 2, 3};
  h.add(1, 0.0);
  h.add(2, 0.99);
  h.add(3, 0.5);
  h.nodes[1].log.append_as_follower({Entry{2, true, 2, {"epoch-2 change"}}});
  h.nodes[2].log.append_as_follower({Entry{1, false, 0, {"a", "b", "c", "d", "e"}}, rec(3, "f")});
  for (auto& [id, n] : h.nodes) n.store.write(ElectionState{3, kNoNode, kNoNode});
  h.start();
  h.run(150);
  RaftClient& leader = *h.nodes[1].client;
  ASSERT_EQ(leader.role(), Role::kLeader);  // with node 3's vote: node 2's log is newer
  EXPECT_EQ(leader.epoch(), 4);
  h.run(100);
  EXPECT_EQ(h.nodes[2].log.batches(), h.nodes[1].log.batches());
  EXPECT_EQ(h.nodes[2].client->high_watermark(), 2);
}

TEST(RaftClientTest, LeaderWithoutQuorumResigns) {
  Harness h;
  h.voters = {1, 2, 3};
  h.add(1, 0.0);
  h.add(2, 0.5);
  h.add(3, 0.99);
  h.start();
  h.run(150);
  ASSERT_EQ(h.nodes[1].client->role(), Role::kLeader);
  // Cut the leader off: drop everything it sends or receives.
  for (int i = 0; i < 400; ++i) {
    h.time.advance(1);
    std::deque<RaftMessage> keep;
    for (auto& m : h.wire)
      if (m.from != 1 && m.to != 1) keep.push_back(m);
    h.wire.clear();
    for (auto& m : keep) h.nodes.at(m.to).client->handle(m);
    for (auto& [id, n] : h.nodes) n.client->poll();
  }
  EXPECT_NE(h.nodes[1].client->role(), Role::kLeader);
  // The other two elected a new leader in a later epoch.
  bool found = false;
  for (NodeId id : {2, 3})
    if (h.nodes[id].client->role() == Role::kLeader) found = h.nodes[id].client->epoch() > 1;
  EXPECT_TRUE(found) << role_name(h.nodes[2].client->role()) << " " << h.nodes[2].client->epoch() << " / "
                     << role_name(h.nodes[3].client->role()) << " " << h.nodes[3].client->epoch();
}

TEST(RaftClientTest, ObserverFindsTheLeaderAndReplicatesButNeverVotes) {
  Harness h;
  h.voters = {1, 2};
  h.add(1, 0.0);
  h.add(2, 0.5);
  h.add(9, 0.0);  // not in voters: an observer
  h.start();
  h.run(150);
  ASSERT_EQ(h.nodes[1].client->role(), Role::kLeader);
  ASSERT_TRUE(h.nodes[1].client->append({"x"}).has_value());
  h.run(100);
  RaftClient& obs = *h.nodes[9].client;
  EXPECT_EQ(obs.role(), Role::kFollower);
  EXPECT_EQ(obs.leader_id(), 1);
  EXPECT_EQ(h.nodes[9].log.batches(), h.nodes[1].log.batches());
  EXPECT_EQ(obs.high_watermark(), 2);
  EXPECT_EQ(obs.voted_id(), kNoNode);
}

}  // namespace
}  // namespace samsa::raft

namespace samsa::raft {
namespace {

// A fetch answered late must not act on a log that has moved on since: here
// a discovery fetch the observer sent before it knew the leader comes back
// (diverging) after the observer already truncated, refetched and learnt the
// high watermark. Acting on it would cut committed entries.
TEST(RaftClientTest, LateAnswerToAnOlderFetchIsIgnored) {
  Harness h;
  h.voters = {1};
  h.add(1, 0.0);
  h.add(9, 0.0);  // observer
  h.nodes[1].log.append_as_follower({rec(1, "a")});
  // An epoch-1 tail the old epoch-1 leader never got committed.
  h.nodes[9].log.append_as_follower({rec(1, "a"), rec(1, "stale"), rec(1, "stale")});
  h.nodes[1].store.write(ElectionState{1, kNoNode, kNoNode});
  h.nodes[9].store.write(ElectionState{2, kNoNode, kNoNode});
  h.start();
  auto tick = [&] {
    h.time.advance(1);
    for (auto& [id, n] : h.nodes) n.client->poll();
  };
  auto deliver = [&](const RaftMessage& m) { h.nodes.at(m.to).client->handle(m); };
  // The voter elects itself (epoch 2); the observer's discovery fetches wait.
  std::vector<RaftMessage> held;
  for (int i = 0; i < 150; ++i) {
    tick();
    for (auto& m : h.wire) held.push_back(m);
    h.wire.clear();
  }
  ASSERT_EQ(h.nodes[1].client->role(), Role::kLeader);
  ASSERT_EQ(h.nodes[1].client->epoch(), 2);
  ASSERT_GE(held.size(), 2u);
  RaftMessage late = held.front();  // the first discovery fetch, still in flight
  // A later discovery fetch goes through; the observer follows, truncates its
  // stale tail, replicates and learns the high watermark.
  deliver(held.back());
  for (int i = 0; i < 100; ++i) {
    for (int guard = 0; guard < 100 && !h.wire.empty(); ++guard) {
      RaftMessage m = h.wire.front();
      h.wire.pop_front();
      deliver(m);
    }
    tick();
  }
  RaftClient& obs = *h.nodes[9].client;
  ASSERT_EQ(obs.role(), Role::kFollower);
  ASSERT_EQ(h.nodes[9].log.batches(), h.nodes[1].log.batches());
  Offset hw = obs.high_watermark();
  ASSERT_EQ(hw, 2);
  // Now the first discovery fetch reaches the leader; its (diverging) answer
  // comes back to the observer.
  h.wire.clear();
  deliver(late);
  ASSERT_EQ(h.wire.size(), 1u);
  ASSERT_TRUE(std::get<FetchResponse>(h.wire.front().payload).diverging_epoch.has_value());
  deliver(h.wire.front());
  EXPECT_EQ(h.nodes[9].log.batches(), h.nodes[1].log.batches());
  EXPECT_GE(h.nodes[9].log.end_offset(), hw);
}

}  // namespace
}  // namespace samsa::raft
