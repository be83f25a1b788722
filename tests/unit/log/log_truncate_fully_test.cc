// Log::truncate_fully_and_start_at: a follower that fell below the leader's
// log start drops everything and starts again, empty, at the leader's start.
#include <filesystem>

#include "log_test_util.h"

namespace samsa::log {
namespace {

using TruncateFullyTest = test::LogFixture;

TEST_F(TruncateFullyTest, StartsEmptyAtTheOffsetAndAcceptsTheLeadersBatches) {
  auto log = open_log();
  for (int i = 0; i < 40; ++i) append(*log, 2, 50, /*epoch=*/1);
  ASSERT_GT(log->segment_base_offsets().size(), 1u);
  log->set_high_watermark(60);

  auto r = log->truncate_fully_and_start_at(500);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, 500);
  EXPECT_EQ(log->log_start_offset(), 500);
  EXPECT_EQ(log->log_end_offset(), 500);
  EXPECT_EQ(log->high_watermark(), 500);
  EXPECT_EQ(log->segment_base_offsets(), std::vector<int64_t>{500});
  EXPECT_FALSE(log->leader_epoch_cache().latest_epoch().has_value());
  EXPECT_FALSE(std::filesystem::exists(segment_path(0, ".log")));

  protocol::RecordBatchOptions opts;
  opts.base_offset = 500;
  opts.partition_leader_epoch = 4;
  auto appended = log->append_as_follower(test::make_batch(3, clock->now_ms(), 10, opts));
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  EXPECT_EQ(log->log_end_offset(), 503);
  EXPECT_EQ(log->leader_epoch_cache().latest_epoch(), 4);

  // And it survives a restart as a log that starts at 500.
  log->close();
  log.reset();
  auto reopened = open_log(/*clean=*/true, /*recovery_point=*/503, /*log_start=*/500);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->log_start_offset(), 500);
  EXPECT_EQ(reopened->log_end_offset(), 503);
}

TEST_F(TruncateFullyTest, SameBaseOffsetReplacesTheSegment) {
  auto log = open_log();
  for (int i = 0; i < 5; ++i) append(*log, 2, 50);
  auto r = log->truncate_fully_and_start_at(0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(log->log_end_offset(), 0);
  EXPECT_EQ(log->size_in_bytes(), 0u);
  EXPECT_EQ(append(*log, 2), 0);
}

// Kafka's truncateTo trims the epoch cache even when there is nothing to
// cut: a follower whose cache names an epoch at its log end would send it
// as LastFetchedEpoch forever and get the same divergence back.
TEST_F(TruncateFullyTest, TruncatingAtTheLogEndStillTrimsTheEpochCache) {
  auto log = open_log();
  for (int i = 0; i < 3; ++i) append(*log, 2, 50, /*epoch=*/1);
  ASSERT_EQ(log->log_end_offset(), 6);
  log->leader_epoch_cache().assign(3, 6);  // an epoch that starts at the log end
  ASSERT_EQ(log->leader_epoch_cache().latest_epoch(), 3);

  auto r = log->truncate_to(6);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, 6);
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_EQ(log->leader_epoch_cache().latest_epoch(), 1);
}

}  // namespace
}  // namespace samsa::log
