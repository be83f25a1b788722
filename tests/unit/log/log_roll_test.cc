// Segment rolling (size, segment.ms, full index) and timestamp lookups.
#include <filesystem>

#include "log_test_util.h"

namespace samsa::log {
namespace {

using test::LogFixture;

struct RollTest : LogFixture {};

TEST_F(RollTest, RollsBySize) {
  config.segment_bytes = 1000;
  auto log = open_log();
  for (int i = 0; i < 20; ++i) append(*log, 1, 100);
  auto bases = log->segment_base_offsets();
  ASSERT_GT(bases.size(), 2u);
  for (size_t i = 0; i + 1 < bases.size(); ++i) {
    auto size = std::filesystem::file_size(segment_path(bases[i], kLogSuffix));
    EXPECT_LE(size, 1000u);
    EXPECT_GT(size + 200, 1000u);  // full up to about one more batch
    // Inactive segments have their indexes trimmed.
    EXPECT_LT(std::filesystem::file_size(segment_path(bases[i], kIndexSuffix)), 1024u);
  }
  // The active one keeps preallocated indexes (1024 / 8, 1020 / 12 entries).
  EXPECT_EQ(std::filesystem::file_size(segment_path(bases.back(), kIndexSuffix)), 1024u);
  EXPECT_EQ(std::filesystem::file_size(segment_path(bases.back(), kTimeIndexSuffix)), 1020u);
}

TEST_F(RollTest, RollsBySegmentMsOfFirstBatchTimestamp) {
  config.segment_ms = 60'000;
  auto log = open_log();
  append(*log, 1);
  clock->advance(59'000);
  append(*log, 1);
  EXPECT_EQ(log->segment_base_offsets().size(), 1u);
  clock->advance(2'000);
  append(*log, 1);
  EXPECT_EQ(log->segment_base_offsets(), (std::vector<int64_t>{0, 2}));
  // Old timestamps (replayed data) do not trigger a roll on wall time.
  clock->advance(3'600'000);
  append(*log, 1, 10, 0, clock->now_ms() - 3'600'000);
  EXPECT_EQ(log->segment_base_offsets().size(), 2u);
}

TEST_F(RollTest, ConfigChangesReachTheActiveSegment) {
  auto log = open_log();  // 1 GiB segments, 7 days
  for (int i = 0; i < 10; ++i) append(*log, 1, 100);
  EXPECT_EQ(log->segment_base_offsets().size(), 1u);
  LogConfig smaller = log->config();
  smaller.segment_bytes = 1000;  // e.g. a dynamic log.segment.bytes
  log->update_config(smaller);
  append(*log, 1, 100);
  EXPECT_EQ(log->segment_base_offsets().size(), 2u) << "the active segment was already over the new size";
  LogConfig sooner = log->config();
  sooner.segment_ms = 1000;  // e.g. a dynamic log.roll.ms
  log->update_config(sooner);
  clock->advance(2000);
  append(*log, 1);
  EXPECT_EQ(log->segment_base_offsets().size(), 3u);
}

TEST_F(RollTest, RollsWhenIndexFull) {
  config.segment_index_bytes = 24;  // 3 offset entries, 2 time entries
  config.index_interval_bytes = 1;
  config.segment_bytes = 1 << 20;
  auto log = open_log();
  for (int i = 0; i < 12; ++i) append(*log, 1, 10, 0, clock->now_ms() + i);
  EXPECT_GT(log->segment_base_offsets().size(), 3u);
  for (int64_t off = 0; off < 12; ++off) {
    auto hs = test::headers_of(test::read_range(*log->read(off, 1, true, 12)));
    ASSERT_EQ(hs.size(), 1u);
    EXPECT_EQ(hs[0].base_offset, off);
  }
}

TEST_F(RollTest, OffsetForTimestampCreateTime) {
  auto log = open_log();
  const int64_t t0 = clock->now_ms();
  // Batches of 3 records with timestamps t0 + 10*i + {0,1,2}.
  for (int i = 0; i < 100; ++i) append(*log, 3, 30, 0, t0 + 10 * i);
  ASSERT_GT(log->segment_base_offsets().size(), 2u);
  EXPECT_EQ(log->offset_for_timestamp(t0)->offset, 0);
  EXPECT_EQ(log->offset_for_timestamp(t0 - 100)->offset, 0);
  auto mid = log->offset_for_timestamp(t0 + 501);
  ASSERT_TRUE(mid);
  EXPECT_EQ(mid->offset, 151);  // batch 50, second record
  EXPECT_EQ(mid->timestamp, t0 + 501);
  EXPECT_EQ(log->offset_for_timestamp(t0 + 505)->offset, 153);  // next batch's first
  EXPECT_FALSE(log->offset_for_timestamp(t0 + 10'000));
  auto max = log->max_timestamp_and_offset();
  EXPECT_EQ(max.timestamp, t0 + 992);
  EXPECT_EQ(max.offset, 299);
}

TEST_F(RollTest, OffsetForTimestampLogAppendTime) {
  config.message_timestamp_type = protocol::TimestampType::kLogAppendTime;
  auto log = open_log();
  for (int i = 0; i < 30; ++i) {
    append(*log, 2, 100, 0, 5);  // producer timestamps are ignored
    clock->advance(1000);
  }
  const int64_t t0 = clock->now_ms() - 30'000;
  auto r = log->offset_for_timestamp(t0 + 10'000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->offset, 20);
  EXPECT_EQ(r->timestamp, t0 + 10'000);
  EXPECT_EQ(log->offset_for_timestamp(t0 + 9'500)->offset, 20);
  EXPECT_EQ(log->max_timestamp_and_offset().timestamp, t0 + 29'000);
}

TEST_F(RollTest, OffsetForTimestampSurvivesReopen) {
  auto log = open_log();
  const int64_t t0 = clock->now_ms();
  for (int i = 0; i < 60; ++i) append(*log, 1, 50, 0, t0 + i * 100);
  log->close();
  log.reset();
  auto again = open_log(true);
  EXPECT_EQ(again->offset_for_timestamp(t0 + 4'250)->offset, 43);
  EXPECT_EQ(again->max_timestamp_and_offset().timestamp, t0 + 5'900);
}

}  // namespace
}  // namespace samsa::log

namespace samsa::log {
namespace {

// segment.jitter.ms: each segment rolls segment.ms less its own random jitter
// after its first batch, so with jitter = segment.ms some of many logs roll
// at half of segment.ms and some do not; without jitter none does.
struct RollJitterTest : test::LogFixture {
  int rolled_at_half(int64_t jitter_ms, int logs) {
    config.segment_ms = 10'000;
    config.segment_jitter_ms = jitter_ms;
    std::vector<std::shared_ptr<Log>> opened;
    for (int i = 0; i < logs; ++i) {
      LogOpenOptions o;
      o.dir = tmp / ("jitter-" + std::to_string(jitter_ms) + "-" + std::to_string(i));
      o.tp = {"jitter", i};
      o.config = config;
      o.clock = clock;
      o.clean_shutdown = true;
      auto r = Log::open(o);
      EXPECT_TRUE(r.ok());
      opened.push_back(r.value());
      append(*opened.back(), 1);
    }
    clock->advance(5'000);
    int rolled = 0;
    for (auto& log : opened) {
      append(*log, 1);
      rolled += log->segment_base_offsets().size() == 2;
    }
    return rolled;
  }
};

TEST_F(RollJitterTest, JitterSpreadsRollsAndZeroJitterRollsAtSegmentMs) {
  EXPECT_EQ(rolled_at_half(0, 40), 0);
  // Each log's jitter is uniform in [0, 10 s): it rolls at 5 s if its jitter
  // is over 5 s. All 40 on the same side has probability 2 * 2^-40.
  const int rolled = rolled_at_half(10'000, 40);
  EXPECT_GT(rolled, 0);
  EXPECT_LT(rolled, 40);
}

}  // namespace
}  // namespace samsa::log
