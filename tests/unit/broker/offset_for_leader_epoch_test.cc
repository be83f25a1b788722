// OffsetForLeaderEpoch (API 23) through the dispatcher, at every version
// Kafka 4.0 serves (fixture: produce_fetch_fixture.h, leader epoch 3).
#include "produce_fetch_fixture.h"
#include "samsa/protocol/gen/offset_for_leader_epoch_request.h"
#include "samsa/protocol/gen/offset_for_leader_epoch_response.h"

namespace samsa::broker {
namespace {

using protocol::OffsetForLeaderEpochRequest;
using protocol::OffsetForLeaderEpochResponse;

std::vector<uint8_t> batch_in_epoch(int64_t base, int32_t epoch, int records) {
  protocol::RecordBatchOptions o;
  o.base_offset = base;
  o.partition_leader_epoch = epoch;
  protocol::RecordBatchBuilder b(o);
  std::vector<uint8_t> value = {'v'};
  for (int i = 0; i < records; ++i) b.append(1000 + i, std::nullopt, std::span<const uint8_t>(value));
  return b.build();
}

struct Ask {
  int32_t partition;
  int32_t epoch;
  int32_t current_leader_epoch = -1;
};

OffsetForLeaderEpochRequest epoch_req(const std::vector<Ask>& asks, int32_t replica_id = 2) {
  OffsetForLeaderEpochRequest req;
  req.replica_id = replica_id;
  auto& t = req.topics.emplace_back();
  t.topic = "t";
  for (const auto& a : asks) {
    auto& p = t.partitions.emplace_back();
    p.partition = a.partition;
    p.leader_epoch = a.epoch;
    p.current_leader_epoch = a.current_leader_epoch;
  }
  return req;
}

TEST_F(ProduceFetchTest, OffsetForLeaderEpochAnswersWhereEachEpochEnds) {
  // Offsets 0-4 in epoch 1 and 5-9 in epoch 2 (replicated from earlier
  // leaders), then 10-14 produced here in epoch 3.
  auto log = pm->logs().get("t", 0);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->append_as_follower(batch_in_epoch(0, 1, 5)).ok());
  ASSERT_TRUE(log->append_as_follower(batch_in_epoch(5, 2, 5)).ok());
  ASSERT_EQ(produce(batch(5, 2000)).error_code, 0);
  ASSERT_EQ(log->log_end_offset(), 15);

  for (int16_t v = 0; v <= 4; ++v) {
    auto resp = call<OffsetForLeaderEpochResponse>(
        23, v, epoch_req({{0, 3}, {0, 2}, {0, 1}, {0, 0}, {0, 9}, {9, 3}}));
    ASSERT_EQ(resp.topics.size(), 1u);
    EXPECT_EQ(resp.topics[0].topic, "t");
    const auto& ps = resp.topics[0].partitions;
    ASSERT_EQ(ps.size(), 6u);
    auto check = [&](size_t i, int16_t error, int32_t epoch, int64_t end) {
      EXPECT_EQ(ps[i].error_code, error) << "v" << v << " #" << i;
      EXPECT_EQ(ps[i].end_offset, end) << "v" << v << " #" << i;
      if (v >= 1) { EXPECT_EQ(ps[i].leader_epoch, epoch) << "v" << v << " #" << i; }
    };
    check(0, 0, 3, 15);   // the latest epoch ends at the log end
    check(1, 0, 2, 10);   // an older one where the next begins
    check(2, 0, 1, 5);
    check(3, 0, 0, 0);    // below every known epoch: where the first begins
    check(4, 0, -1, -1);  // above every known epoch: undefined
    check(5, 3, -1, -1);  // UNKNOWN_TOPIC_OR_PARTITION
  }
}

TEST_F(ProduceFetchTest, OffsetForLeaderEpochFencesOnTheCurrentLeaderEpoch) {
  ASSERT_EQ(produce(batch(3, 2000)).error_code, 0);
  auto resp = call<OffsetForLeaderEpochResponse>(23, 4, epoch_req({{0, 3, 2}, {0, 3, 4}, {0, 3, 3}, {1, 3, 3}}));
  const auto& ps = resp.topics.at(0).partitions;
  ASSERT_EQ(ps.size(), 4u);
  EXPECT_EQ(ps[0].error_code, protocol::code(protocol::ErrorCode::FENCED_LEADER_EPOCH));
  EXPECT_EQ(ps[1].error_code, protocol::code(protocol::ErrorCode::UNKNOWN_LEADER_EPOCH));
  EXPECT_EQ(ps[2].error_code, 0);
  EXPECT_EQ(ps[2].end_offset, 3);
  // Partition 1 is led here but empty: its epoch is unknown yet.
  EXPECT_EQ(ps[3].error_code, 0);
}

}  // namespace
}  // namespace samsa::broker
