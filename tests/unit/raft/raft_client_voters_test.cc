// KIP-853 in the RaftClient: AddRaftVoter/RemoveRaftVoter on the leader, the
// voter set every node takes from its log, and the errors Kafka answers.
#include <algorithm>

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

// UpdateRaftVoter (KIP-853): a voter's endpoints and kraft.version range
// change through a new Voters record; id and directory id must both match.
TEST(RaftClientVotersTest, AVoterUpdatesItsEndpointsThroughTheLog) {
  Harness h;
  h.voters = {1, 2};
  h.kraft_version = 1;
  h.add(1, 0.0);
  h.add(2, 0.5);
  h.start();
  h.run(300);
  NodeId leader_id = h.nodes[1].client->role() == Role::kLeader ? 1 : 2;
  NodeId other_id = 3 - leader_id;
  RaftClient& leader = *h.nodes[leader_id].client;
  RaftClient& other = *h.nodes[other_id].client;
  ASSERT_EQ(leader.role(), Role::kLeader);

  Voter v = voter_with_id(other_id);  // the initial set's voters have the zero directory id
  v.endpoints.push_back({"CONTROLLER", "127.0.0.1", 19093, {}});
  v.kraft_version_feature.min_supported_version = 0;
  v.kraft_version_feature.max_supported_version = 1;

  EXPECT_EQ(other.update_voter(v).error, ErrorCode::NOT_LEADER_OR_FOLLOWER);
  EXPECT_EQ(leader.update_voter(v, leader.epoch() - 1).error, ErrorCode::FENCED_LEADER_EPOCH);
  EXPECT_EQ(leader.update_voter(v, leader.epoch() + 1).error, ErrorCode::UNKNOWN_LEADER_EPOCH);
  Voter wrong_dir = v;
  wrong_dir.voter_directory_id.bytes[0] = 7;
  EXPECT_EQ(leader.update_voter(wrong_dir).error, ErrorCode::VOTER_NOT_FOUND);
  Voter unknown = v;
  unknown.voter_id = 9;
  EXPECT_EQ(leader.update_voter(unknown).error, ErrorCode::VOTER_NOT_FOUND);
  Voter empty_range = v;
  empty_range.kraft_version_feature.min_supported_version = 2;
  EXPECT_EQ(leader.update_voter(empty_range).error, ErrorCode::INVALID_REQUEST);
  Voter too_old = v;
  too_old.kraft_version_feature.max_supported_version = 0;  // cannot read kraft.version 1
  EXPECT_EQ(leader.update_voter(too_old).error, ErrorCode::INVALID_REQUEST);
  Voter no_endpoints = v;
  no_endpoints.endpoints.clear();
  EXPECT_EQ(leader.update_voter(no_endpoints).error, ErrorCode::INVALID_REQUEST);

  auto updated = leader.update_voter(v, leader.epoch());
  ASSERT_EQ(updated.error, ErrorCode::NONE);
  EXPECT_EQ(leader.update_voter(v).error, ErrorCode::REQUEST_TIMED_OUT);  // one change at a time
  h.run(100);
  EXPECT_GE(leader.high_watermark(), updated.offset);
  for (RaftClient* c : {&leader, &other}) {
    EXPECT_EQ(voter_ids(c->voters()), (std::vector<NodeId>{1, 2}));
    auto it = std::find_if(c->voters().begin(), c->voters().end(),
                           [&](const Voter& x) { return x.voter_id == other_id; });
    ASSERT_NE(it, c->voters().end());
    ASSERT_EQ(it->endpoints.size(), 1u);
    EXPECT_EQ(it->endpoints[0].port, 19093);
    EXPECT_EQ(it->kraft_version_feature.max_supported_version, 1);
  }
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
  EXPECT_EQ(h.nodes[1].client->update_voter(voter_with_id(1)).error, ErrorCode::UNSUPPORTED_VERSION);
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
