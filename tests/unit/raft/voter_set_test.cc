// KIP-853 voter sets: the VotersRecord round trip and the history a node
// keeps of its log's Voters records (append, truncation, snapshot reset).
#include <gtest/gtest.h>

#include "samsa/raft/consensus/voter_set.h"
#include "samsa/raft/snapshot_file.h"

namespace samsa::raft {
namespace {

std::vector<Voter> ids(std::initializer_list<NodeId> list) {
  std::vector<Voter> out;
  for (NodeId id : list) out.push_back(voter_with_id(id));
  return out;
}

TEST(VoterSetTest, VotersRecordRoundTripsWithEndpoints) {
  std::vector<Voter> voters = ids({1, 2});
  voters[0].endpoints.push_back({"CONTROLLER", "127.0.0.1", 9093, {}});
  auto decoded = decode_voters_record(encode_voters_record(voters));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, voters);
  EXPECT_FALSE(decode_voters_record("\\x01").has_value());
  Entry e = voters_entry(voters);
  EXPECT_TRUE(e.control);
  EXPECT_EQ(e.control_type, kVotersControlType);
  EXPECT_EQ(voter_ids(*voters_of(e)), (std::vector<NodeId>{1, 2}));
  EXPECT_FALSE(voters_of(Entry{1, false, 0, {"x"}}).has_value());
}

TEST(VoterSetTest, HistoryFollowsAppendsTruncationAndSnapshots) {
  VoterSetHistory h(ids({1, 2, 3}));
  EXPECT_EQ(voter_ids(h.latest()), (std::vector<NodeId>{1, 2, 3}));
  EXPECT_EQ(h.latest_offset(), -1);
  h.on_append(10, Entry{1, false, 0, {"data"}});  // not a Voters entry: nothing changes
  EXPECT_EQ(h.latest_offset(), -1);
  h.on_append(20, voters_entry(ids({1, 2, 3, 4})));
  h.on_append(30, voters_entry(ids({1, 2, 4})));
  EXPECT_EQ(voter_ids(h.latest()), (std::vector<NodeId>{1, 2, 4}));
  EXPECT_EQ(voter_ids(h.at(20)), (std::vector<NodeId>{1, 2, 3}));     // below 20: the initial set
  EXPECT_EQ(voter_ids(h.at(21)), (std::vector<NodeId>{1, 2, 3, 4}));  // after the entry at 20
  EXPECT_EQ(voter_ids(h.at(31)), (std::vector<NodeId>{1, 2, 4}));
  h.on_truncate(30);  // the removal was never committed: the previous set is back
  EXPECT_EQ(voter_ids(h.latest()), (std::vector<NodeId>{1, 2, 3, 4}));
  h.on_truncate(5);
  EXPECT_EQ(voter_ids(h.latest()), (std::vector<NodeId>{1, 2, 3}));
  h.reset(50, ids({2, 3, 5}));  // a fetched snapshot names its set
  EXPECT_EQ(voter_ids(h.latest()), (std::vector<NodeId>{2, 3, 5}));
  EXPECT_EQ(voter_ids(h.at(50)), (std::vector<NodeId>{2, 3, 5}));
  h.reset(60, std::nullopt);  // one that names none: the initial set
  EXPECT_EQ(voter_ids(h.latest()), (std::vector<NodeId>{1, 2, 3}));
}

TEST(VoterSetTest, ASnapshotCarriesItsVoterSetAfterTheHeader) {
  std::vector<Voter> voters = ids({1, 2, 3});
  voters[2].endpoints.push_back({"CONTROLLER", "127.0.0.1", 9095, {}});
  std::vector<std::vector<uint8_t>> values = {{1, 2, 3}, {4, 5}};
  auto bytes = encode_snapshot(values, 7, 1000, voters);
  EXPECT_EQ(snapshot_voters(bytes), voters);
  size_t data_batches = 0;
  decode_snapshot(bytes, [&](const protocol::BatchView&) { ++data_batches; });  // still a valid snapshot
  EXPECT_EQ(data_batches, 1u);
  EXPECT_FALSE(snapshot_voters(encode_snapshot(values, 7)).has_value());  // kraft.version 0: none
}

}  // namespace
}  // namespace samsa::raft
