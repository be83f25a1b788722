// ListOffsets through the dispatcher (fixture: produce_fetch_fixture.h).
#include "produce_fetch_fixture.h"

namespace samsa::broker {
namespace {

using protocol::ListOffsetsRequest;
using protocol::ListOffsetsResponse;

ListOffsetsRequest list_req(std::vector<std::pair<int32_t, int64_t>> parts, int8_t isolation = 0) {
  ListOffsetsRequest req;
  req.replica_id = -1;
  req.isolation_level = isolation;
  auto& t = req.topics.emplace_back();
  t.name = "t";
  for (auto [p, ts] : parts) {
    auto& lp = t.partitions.emplace_back();
    lp.partition_index = p;
    lp.timestamp = ts;
  }
  return req;
}

TEST_F(ProduceFetchTest, SpecialTimestampsAndTimestampLookupAtEveryVersion) {
  produce(batch(10, 1000));  // offsets 0-9, ts 1000-1009
  produce(batch(10, 5000));  // offsets 10-19, ts 5000-5009
  for (int16_t v = 1; v <= 10; ++v) {
    auto at = [&](int64_t ts) {
      return call<ListOffsetsResponse>(2, v, list_req({{0, ts}})).topics.at(0).partitions.at(0);
    };
    auto earliest = at(-2);
    EXPECT_EQ(earliest.error_code, 0);
    EXPECT_EQ(earliest.offset, 0) << "v" << v;
    EXPECT_EQ(earliest.timestamp, -1);
    if (v >= 4) { EXPECT_EQ(earliest.leader_epoch, 3); }
    auto latest = at(-1);
    EXPECT_EQ(latest.offset, 20) << "v" << v;
    if (v >= 4) { EXPECT_EQ(latest.leader_epoch, 3); }
    auto by_ts = at(1005);
    EXPECT_EQ(by_ts.offset, 5) << "v" << v;
    EXPECT_EQ(by_ts.timestamp, 1005);
    auto gap = at(2000);
    EXPECT_EQ(gap.offset, 10);
    EXPECT_EQ(gap.timestamp, 5000);
    auto none = at(999999);
    EXPECT_EQ(none.error_code, 0);
    EXPECT_EQ(none.offset, -1);
    EXPECT_EQ(none.timestamp, -1);
    if (v >= 7) {
      auto max = at(-3);
      EXPECT_EQ(max.timestamp, 5009);
      EXPECT_EQ(max.offset, 19);
    }
    if (v >= 8) { EXPECT_EQ(at(-4).offset, 0); }
    if (v >= 9) { EXPECT_EQ(at(-5).offset, -1); }
  }
}

TEST_F(ProduceFetchTest, ErrorsAndDuplicates) {
  auto resp = call<ListOffsetsResponse>(2, 5, list_req({{0, -1}, {0, -2}, {1, -1}, {9, -1}}));
  const auto& ps = resp.topics.at(0).partitions;
  ASSERT_EQ(ps.size(), 4u);
  EXPECT_EQ(ps[0].error_code, protocol::code(protocol::ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(ps[1].error_code, protocol::code(protocol::ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(ps[2].error_code, 0);
  EXPECT_EQ(ps[3].error_code, protocol::code(protocol::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  auto fenced = list_req({{0, -1}});
  fenced.topics[0].partitions[0].current_leader_epoch = 1;
  EXPECT_EQ(call<ListOffsetsResponse>(2, 5, fenced).topics[0].partitions[0].error_code,
            protocol::code(protocol::ErrorCode::FENCED_LEADER_EPOCH));
  auto empty = call<ListOffsetsResponse>(2, 7, list_req({{1, -3}})).topics[0].partitions[0];
  EXPECT_EQ(empty.offset, -1);
}

}  // namespace
}  // namespace samsa::broker
