// RaftMessage payload -> generated struct -> bytes -> generated struct ->
// payload, at every version raft_wire supports, plus golden checks of the
// fields consensus depends on.
#include "samsa/raft/consensus/raft_wire.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "samsa/protocol/record_batch.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::raft {
namespace {

namespace w = wire;

// Encodes at `v` and decodes into a fresh struct; `keep` owns the bytes the
// decoded struct may borrow (Fetch records).
template <typename W>
W through_bytes(const W& msg, int16_t v, std::shared_ptr<std::vector<uint8_t>>* keep = nullptr) {
  protocol::WireWriter out;
  msg.encode(out, v);
  auto buf = std::make_shared<std::vector<uint8_t>>(out.view().begin(), out.view().end());
  protocol::WireReader in(std::span<const uint8_t>(buf->data(), buf->size()), buf);
  W back;
  back.decode(in, v);
  EXPECT_EQ(in.remaining(), 0u);
  if (keep) *keep = buf;
  return back;
}

bool same_vote(const VoteRequest& a, const VoteRequest& b) {
  return a.candidate_epoch == b.candidate_epoch && a.candidate_id == b.candidate_id &&
         a.last_offset_epoch == b.last_offset_epoch && a.last_offset == b.last_offset && a.pre_vote == b.pre_vote;
}

const w::RequestContext kCtx{"c-Yq9sTQfGJxQ0v2rX4y1A", 3};

TEST(RaftWire, VoteRoundTripsAtEveryVersion) {
  VoteRequest req{7, 2, 6, 1234, false};
  VoteResponse resp{RaftError::kFencedLeaderEpoch, 9, 4, true};
  for (int16_t v = w::kVoteMinVersion; v <= w::kVoteMaxVersion; ++v) {
    auto wreq = w::to_wire(req, kCtx);
    ASSERT_TRUE(wreq);
    auto back = w::from_wire(through_bytes(*wreq, v));
    ASSERT_TRUE(back) << "v" << v;
    EXPECT_TRUE(same_vote(*back, req)) << "v" << v;
    auto rback = w::from_wire(through_bytes(w::to_wire(resp), v));
    ASSERT_TRUE(rback) << "v" << v;
    EXPECT_EQ(rback->error, resp.error);
    EXPECT_EQ(rback->leader_epoch, 9);
    EXPECT_EQ(rback->leader_id, 4);
    EXPECT_TRUE(rback->vote_granted);
  }
}

TEST(RaftWire, PreVoteTravelsAtV2WithTheCurrentEpoch) {
  static_assert(w::kVoteMaxVersion >= w::kPreVoteMinVersion);
  VoteRequest pre{7, 2, 6, 1234, true};  // would stand in epoch 7: currently in 6
  auto wreq = w::to_wire(pre, kCtx);
  ASSERT_TRUE(wreq);
  // KIP-996: the request carries the sender's current epoch and PreVote.
  EXPECT_EQ(wreq->topics[0].partitions[0].candidate_epoch, 6);
  EXPECT_TRUE(wreq->topics[0].partitions[0].pre_vote);
  auto back = w::from_wire(through_bytes(*wreq, w::kPreVoteMinVersion));
  ASSERT_TRUE(back);
  EXPECT_TRUE(same_vote(*back, pre));
  // Below v2 the flag does not exist on the wire.
  auto v1 = w::from_wire(through_bytes(*wreq, 1));
  ASSERT_TRUE(v1);
  EXPECT_FALSE(v1->pre_vote);
}

TEST(RaftWire, QuorumEpochRoundTripsAtEveryVersion) {
  BeginQuorumEpochRequest begin{5, 1};
  EndQuorumEpochRequest end{5, 1, {3, 2}};
  QuorumEpochResponse resp{RaftError::kNotLeaderOrFollower, 6, 2};
  for (int16_t v = w::kQuorumEpochMinVersion; v <= w::kQuorumEpochMaxVersion; ++v) {
    auto b = w::from_wire(through_bytes(w::to_wire(begin, kCtx), v));
    ASSERT_TRUE(b) << "v" << v;
    EXPECT_EQ(b->leader_epoch, 5);
    EXPECT_EQ(b->leader_id, 1);
    auto e = w::from_wire(through_bytes(w::to_wire(end, kCtx), v));
    ASSERT_TRUE(e) << "v" << v;
    EXPECT_EQ(e->leader_epoch, 5);
    EXPECT_EQ(e->leader_id, 1);
    EXPECT_EQ(e->preferred_successors, (std::vector<NodeId>{3, 2})) << "v" << v;
    for (auto r : {w::from_wire(through_bytes(w::to_begin_wire(resp), v)),
                   w::from_wire(through_bytes(w::to_end_wire(resp), v))}) {
      ASSERT_TRUE(r) << "v" << v;
      EXPECT_EQ(r->error, RaftError::kNotLeaderOrFollower);
      EXPECT_EQ(r->leader_epoch, 6);
      EXPECT_EQ(r->leader_id, 2);
    }
  }
}

TEST(RaftWire, FetchRoundTripsAtEveryVersion) {
  FetchRequest req{4, 2, 100, 3, 500};
  FetchResponse resp;
  resp.error = RaftError::kNone;
  resp.leader_epoch = 4;
  resp.leader_id = 1;
  resp.high_watermark = 98;
  resp.diverging_epoch = OffsetAndEpoch{97, 3};
  resp.base_offset = 100;
  resp.records = {{4, true, 2, {"leader-change"}}, {4, false, 0, {"a", "b", "c"}},
                  {4, false, 0, {std::string("\0b", 2)}}};
  FetchResponse empty;
  empty.leader_epoch = 4;
  empty.leader_id = 1;
  empty.high_watermark = 100;
  empty.base_offset = 100;
  for (int16_t v = w::kFetchMinVersion; v <= w::kFetchMaxVersion; ++v) {
    auto wreq = through_bytes(w::to_wire(req, 2, kCtx), v);
    EXPECT_EQ(w::fetch_replica_id(wreq), 2) << "v" << v;
    auto back = w::from_wire(wreq);
    ASSERT_TRUE(back) << "v" << v;
    EXPECT_EQ(back->current_leader_epoch, 4);
    EXPECT_EQ(back->replica_id, 2);
    EXPECT_EQ(back->fetch_offset, 100);
    EXPECT_EQ(back->last_fetched_epoch, 3);
    EXPECT_EQ(back->max_wait_ms, 500);

    for (const FetchResponse& m : {resp, empty}) {
      std::shared_ptr<std::vector<uint8_t>> keep;
      auto r = w::from_wire(through_bytes(w::to_wire(m), v, &keep), req.fetch_offset);
      ASSERT_TRUE(r) << "v" << v;
      EXPECT_EQ(r->error, m.error);
      EXPECT_EQ(r->leader_epoch, m.leader_epoch);
      EXPECT_EQ(r->leader_id, m.leader_id);
      EXPECT_EQ(r->high_watermark, m.high_watermark);
      EXPECT_EQ(r->diverging_epoch, m.diverging_epoch) << "v" << v;
      EXPECT_EQ(r->base_offset, m.base_offset);
      EXPECT_EQ(r->records, m.records) << "v" << v;
    }
  }
}

TEST(RaftWire, FetchResponseGoldenFields) {
  FetchResponse resp;
  resp.leader_epoch = 8;
  resp.leader_id = 2;
  resp.diverging_epoch = OffsetAndEpoch{41, 6};
  resp.base_offset = 50;
  resp.records = {{7, false, 0, {"x", "x2", "x3"}}, {8, true, 2, {"y"}}};
  auto wr = w::to_wire(resp);
  ASSERT_EQ(wr.responses.size(), 1u);
  EXPECT_EQ(wr.responses[0].topic_id, w::metadata_topic_id());
  const auto& p = wr.responses[0].partitions.at(0);
  // DivergingEpoch is what makes a follower truncate: Epoch 6, EndOffset 41.
  EXPECT_EQ(p.diverging_epoch.epoch, 6);
  EXPECT_EQ(p.diverging_epoch.end_offset, 41);
  EXPECT_EQ(p.current_leader.leader_id, 2);
  EXPECT_EQ(p.current_leader.leader_epoch, 8);
  // Records are Kafka v2 batches: one per entry (3 records at 50-52, then
  // 53), the entry's epoch as partition leader epoch, the control bit on the
  // second, whose record key is Kafka's control key {0, type 2}.
  auto split = protocol::split_batches(p.records.bytes(), true);
  ASSERT_EQ(split.batches.size(), 2u);
  EXPECT_EQ(split.batches[0].header.base_offset, 50);
  EXPECT_EQ(split.batches[0].header.next_offset(), 53);
  EXPECT_EQ(split.batches[0].header.partition_leader_epoch, 7);
  EXPECT_FALSE(split.batches[0].header.is_control());
  EXPECT_EQ(split.batches[1].header.base_offset, 53);
  auto control = protocol::decode_records(split.batches[1]);
  ASSERT_EQ(control.size(), 1u);
  EXPECT_EQ(control[0].key, (std::vector<uint8_t>{0, 0, 0, 2}));
  EXPECT_EQ(split.batches[1].header.partition_leader_epoch, 8);
  EXPECT_TRUE(split.batches[1].header.is_control());
  EXPECT_TRUE(protocol::verify_crc(split.batches[1].bytes));
  // No DivergingEpoch: the tagged field stays at its -1 defaults.
  resp.diverging_epoch.reset();
  EXPECT_EQ(w::to_wire(resp).responses[0].partitions[0].diverging_epoch.epoch, -1);
}

TEST(RaftWire, RejectsWhatRaftCannotActOn) {
  // A corrupted batch (CRC mismatch) is not handed to consensus.
  FetchResponse resp;
  resp.records = {{1, false, 0, {"abc"}}};
  auto wr = w::to_wire(resp);
  std::vector<uint8_t> bytes(wr.responses[0].partitions[0].records.bytes().begin(),
                             wr.responses[0].partitions[0].records.bytes().end());
  bytes.back() ^= 0x01;
  wr.responses[0].partitions[0].records = protocol::Records::copy_of(bytes);
  EXPECT_FALSE(w::from_wire(wr, 0));
  // No __cluster_metadata partition, or a top-level error.
  auto vote = *w::to_wire(VoteRequest{1, 1, 0, 0, false}, kCtx);
  vote.topics[0].topic_name = "other";
  EXPECT_FALSE(w::from_wire(vote));
  auto vr = w::to_wire(VoteResponse{});
  vr.error_code = 104;  // INCONSISTENT_CLUSTER_ID
  EXPECT_FALSE(w::from_wire(vr));
  // Non-contiguous batches.
  FetchResponse gap;
  gap.records = {{1, false, 0, {"a"}}};
  auto g = w::to_wire(gap);
  std::vector<uint8_t> two(g.responses[0].partitions[0].records.bytes().begin(),
                           g.responses[0].partitions[0].records.bytes().end());
  std::vector<uint8_t> second = two;
  protocol::set_base_offset(second, 5);
  two.insert(two.end(), second.begin(), second.end());
  g.responses[0].partitions[0].records = protocol::Records::copy_of(two);
  EXPECT_FALSE(w::from_wire(g, 0));
}

TEST(RaftWire, FetchSnapshotRoundTripsAtEveryVersion) {
  FetchSnapshotRequest req{6, 3, OffsetAndEpoch{120, 5}, 64, 1000};
  FetchSnapshotResponse resp{RaftError::kNone, 6, 1, OffsetAndEpoch{120, 5}, 300, 64, std::string("\0chunk", 6)};
  for (int16_t v = w::kFetchSnapshotMinVersion; v <= w::kFetchSnapshotMaxVersion; ++v) {
    auto back = w::from_wire(through_bytes(w::to_wire(req, 3, kCtx), v));
    ASSERT_TRUE(back) << "v" << v;
    EXPECT_EQ(back->current_leader_epoch, 6);
    EXPECT_EQ(back->replica_id, 3);
    EXPECT_EQ(back->snapshot_id, (OffsetAndEpoch{120, 5}));
    EXPECT_EQ(back->position, 64);
    EXPECT_EQ(back->max_bytes, 1000);
    std::shared_ptr<std::vector<uint8_t>> keep;
    auto r = w::from_wire(through_bytes(w::to_wire(resp), v, &keep));
    ASSERT_TRUE(r) << "v" << v;
    EXPECT_EQ(r->error, RaftError::kNone);
    EXPECT_EQ(r->leader_epoch, 6);
    EXPECT_EQ(r->leader_id, 1);
    EXPECT_EQ(r->snapshot_id, (OffsetAndEpoch{120, 5}));
    EXPECT_EQ(r->size, 300);
    EXPECT_EQ(r->position, 64);
    EXPECT_EQ(r->bytes, resp.bytes);
  }
  // Fetch's SnapshotId (a tagged field) tells the follower to fetch one.
  FetchResponse f;
  f.snapshot_id = OffsetAndEpoch{120, 5};
  for (int16_t v = w::kFetchMinVersion; v <= w::kFetchMaxVersion; ++v) {
    std::shared_ptr<std::vector<uint8_t>> keep;
    auto r = w::from_wire(through_bytes(w::to_wire(f), v, &keep), 0);
    ASSERT_TRUE(r) << "v" << v;
    EXPECT_EQ(r->snapshot_id, f.snapshot_id) << "v" << v;
  }
}

TEST(RaftWire, LeaderChangeValueIsKafkasLeaderChangeMessage) {
  std::string value = w::encode_leader_change(2, {1, 2, 3}, {2, 3});
  auto m = w::decode_leader_change(value);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->version, 0);
  EXPECT_EQ(m->leader_id, 2);
  ASSERT_EQ(m->voters.size(), 3u);
  EXPECT_EQ(m->voters[2].voter_id, 3);
  ASSERT_EQ(m->granting_voters.size(), 2u);
  EXPECT_EQ(m->granting_voters[0].voter_id, 2);
}

}  // namespace
}  // namespace samsa::raft
