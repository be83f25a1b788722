// KIP-853 in the RaftClient: AddRaftVoter/RemoveRaftVoter on the leader, the
// voter set every node takes from its log, and the errors Kafka answers.
#include <gtest/gtest.h>

#include "raft_test_harness.h"

namespace samsa::raft {
namespace {

using protocol::ErrorCode;

TEST(RaftClientVotersTest, AnObserverIsAddedThenRemovedThroughTheLog) {
  Harness h;
  h.voters = {1};
  h.kraft_version = 1;
  h.add(1, 0.0);
  h.add(2, 0.5);  // an observer (no initial voter set of its own but node 1's)
  h.start();
  h.run(200);
  RaftClient& leader = *h.nodes[1].client;
  RaftClient& other = *h.nodes[2].client;
  ASSERT_EQ(leader.role(), Role::kLeader);
  ASSERT_EQ(other.role(), Role::kFollower);
  EXPECT_FALSE(other.config().is_voter(2));

  EXPECT_EQ(other.add_voter(voter_with_id(3)).error, ErrorCode::NOT_LEADER_OR_FOLLOWER);
  EXPECT_EQ(leader.add_voter(voter_with_id(1)).error, ErrorCode::DUPLICATE_VOTER);
  EXPECT_EQ(leader.add_voter(voter_with_id(3)).error, ErrorCode::REQUEST_TIMED_OUT);  // never fetched
  auto added = leader.add_voter(voter_with_id(2));
  ASSERT_EQ(added.error, ErrorCode::NONE);
  // In force at once on the leader, committed or not; one change at a time.
  EXPECT_EQ(leader.config().voters, (std::vector<NodeId>{1, 2}));
  EXPECT_EQ(leader.remove_voter(2).error, ErrorCode::REQUEST_TIMED_OUT);
  h.run(100);
  EXPECT_GE(leader.high_watermark(), added.offset);
  EXPECT_EQ(other.config().voters, (std::vector<NodeId>{1, 2}));
  // Node 2 now counts: the high watermark needs it.
  ASSERT_TRUE(leader.append({"x"}).has_value());
  h.run(50);
  EXPECT_EQ(h.nodes[2].log.end_offset(), h.nodes[1].log.end_offset());

  EXPECT_EQ(leader.remove_voter(7).error, ErrorCode::VOTER_NOT_FOUND);
  EXPECT_EQ(leader.remove_voter(1).error, ErrorCode::INVALID_REQUEST);  // the leader itself: not supported
  auto removed = leader.remove_voter(2);
  ASSERT_EQ(removed.error, ErrorCode::NONE);
  h.run(100);
  EXPECT_GE(leader.high_watermark(), removed.offset);
  EXPECT_EQ(other.config().voters, (std::vector<NodeId>{1}));
  EXPECT_EQ(voter_ids(other.voters_at(added.offset)), (std::vector<NodeId>{1, 2}));

  // A restart rebuilds the voter set from the log.
  Harness::Node& n2 = h.nodes[2];
  RaftConfig c = n2.client->config();
  c.voters = {1};
  n2.client = std::make_unique<RaftClient>(c, h.time, *n2.random, n2.out, n2.log, n2.store);
  EXPECT_EQ(n2.client->config().voters, (std::vector<NodeId>{1}));
}

TEST(RaftClientVotersTest, StaticVotersCannotChange) {
  Harness h;
  h.voters = {1};
  h.add(1, 0.0);
  h.start();
  h.run(200);
  ASSERT_EQ(h.nodes[1].client->role(), Role::kLeader);
  EXPECT_EQ(h.nodes[1].client->add_voter(voter_with_id(2)).error, ErrorCode::UNSUPPORTED_VERSION);
  EXPECT_EQ(h.nodes[1].client->remove_voter(1).error, ErrorCode::UNSUPPORTED_VERSION);
}

TEST(RaftClientVotersTest, ATruncatedVotersRecordIsNoLongerInForce) {
  Harness h;
  h.voters = {1, 2, 3};
  h.kraft_version = 1;
  h.add(1, 0.0);
  h.add(2, 0.5);
  h.add(3, 0.99);
  // Node 2 holds an uncommitted epoch-1 Voters record adding node 4 that the
  // next leader never had.
  h.nodes[1].log.append_as_follower({rec(1, "a")});
  h.nodes[2].log.append_as_follower({rec(1, "a")});
  Entry add4 = voters_entry({voter_with_id(1), voter_with_id(2), voter_with_id(3), voter_with_id(4)});
  add4.epoch = 1;
  h.nodes[2].log.append_as_follower({add4});
  for (auto& [id, n] : h.nodes) n.store.write(ElectionState{1, kNoNode, kNoNode});
  h.start();
  EXPECT_EQ(h.nodes[2].client->config().voters, (std::vector<NodeId>{1, 2, 3, 4}));
  h.run(300);
  ASSERT_EQ(h.nodes[1].client->role(), Role::kLeader);
  EXPECT_EQ(h.nodes[2].log.batches(), h.nodes[1].log.batches());
  EXPECT_EQ(h.nodes[2].client->config().voters, (std::vector<NodeId>{1, 2, 3}));
}

}  // namespace
}  // namespace samsa::raft
