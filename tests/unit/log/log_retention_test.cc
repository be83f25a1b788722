// Retention by time and size with a fake clock, DeleteRecords, and the
// rules protecting the active segment and unreplicated data.
#include <filesystem>

#include "log_test_util.h"

namespace samsa::log {
namespace {

using test::LogFixture;

struct RetentionTest : LogFixture {
  // Segments of ~1000 bytes, 5 batches each.
  void SetUp() override {
    config.segment_bytes = 1000;
  }
  void fill(Log& log, int batches, int64_t ts_step = 0) {
    for (int i = 0; i < batches; ++i) {
      append(log, 1, 130);
      clock->advance(ts_step);
    }
    log.set_high_watermark(log.log_end_offset());
  }
};

TEST_F(RetentionTest, TimeRetentionDeletesOldSegmentsOnly) {
  config.retention_ms = 60'000;
  auto log = open_log();
  fill(*log, 12);  // old data
  clock->advance(30'000);
  fill(*log, 12);  // newer data
  const size_t before = log->segment_base_offsets().size();
  clock->advance(35'000);  // first half now 65 s old, second 35 s
  size_t deleted = log->delete_old_segments();
  EXPECT_GT(deleted, 0u);
  EXPECT_EQ(log->segment_base_offsets().size(), before - deleted);
  EXPECT_EQ(log->log_start_offset(), log->segment_base_offsets().front());
  EXPECT_LE(log->log_start_offset(), 12);
  EXPECT_GE(log->log_start_offset(), 8);
  EXPECT_EQ(log->read(0, 100, true, 24).error().code, LogErrc::kOffsetOutOfRange);
  EXPECT_FALSE(std::filesystem::exists(segment_path(0, kLogSuffix)));
  EXPECT_FALSE(std::filesystem::exists(segment_path(0, ".log.deleted")));
}

TEST_F(RetentionTest, EverythingExpiredRollsFreshActiveSegment) {
  config.retention_ms = 1'000;
  auto log = open_log();
  fill(*log, 12);
  clock->advance(5'000);
  log->delete_old_segments();
  EXPECT_EQ(log->segment_base_offsets(), std::vector<int64_t>{12});
  EXPECT_EQ(log->log_start_offset(), 12);
  EXPECT_EQ(log->log_end_offset(), 12);
  EXPECT_EQ(append(*log, 1), 12);
  // An empty active segment is never deleted.
  log->set_high_watermark(13);
  clock->advance(5'000);
  log->delete_old_segments();
  EXPECT_EQ(log->segment_base_offsets(), std::vector<int64_t>{13});
  clock->advance(5'000);
  EXPECT_EQ(log->delete_old_segments(), 0u);
}

TEST_F(RetentionTest, DataAboveHighWatermarkIsKept) {
  config.retention_ms = 1'000;
  auto log = open_log();
  fill(*log, 12);
  log->set_high_watermark(3);
  clock->advance(5'000);
  EXPECT_EQ(log->delete_old_segments(), 0u);
}

TEST_F(RetentionTest, SizeRetentionKeepsNewestBytes) {
  config.retention_bytes = 2500;
  auto log = open_log();
  fill(*log, 40);
  log->delete_old_segments();
  // Kafka's rule: whole segments go while the rest still exceeds the limit,
  // so the log stays within one segment of retention.bytes.
  auto bases = log->segment_base_offsets();
  const auto first_size = std::filesystem::file_size(segment_path(bases.front(), kLogSuffix));
  EXPECT_GT(log->size_in_bytes(), 2500u);
  EXPECT_LT(log->size_in_bytes() - first_size, 2500u);
  EXPECT_EQ(log->log_end_offset(), 40);
}

TEST_F(RetentionTest, CompactPolicySkipsTimeAndSize) {
  config.retention_ms = 1;
  config.retention_bytes = 1;
  auto log = open_log();
  fill(*log, 20);  // keyless records: written before the topic turned compacted
  config.cleanup_policy = "compact";
  log->update_config(config);
  clock->advance(10'000);
  EXPECT_EQ(log->delete_old_segments(), 0u);
}

TEST_F(RetentionTest, DeleteRecordsMovesStartAndDropsSegments) {
  auto log = open_log();
  fill(*log, 30);
  auto r = log->delete_records_before(17);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 17);
  EXPECT_EQ(log->log_start_offset(), 17);
  EXPECT_LE(log->segment_base_offsets().front(), 17);
  EXPECT_GT(log->segment_base_offsets().front(), 10);
  EXPECT_EQ(log->read(16, 100, true, 30).error().code, LogErrc::kOffsetOutOfRange);
  auto first = log->read(17, 1, true, 30);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->first_offset, 17);
  // Not beyond the high watermark; never backwards.
  EXPECT_EQ(log->delete_records_before(31).error().code, LogErrc::kOffsetOutOfRange);
  EXPECT_EQ(*log->delete_records_before(5), 17);
}

TEST_F(RetentionTest, LogStartOffsetSurvivesReopen) {
  auto log = open_log();
  fill(*log, 30);
  ASSERT_TRUE(log->delete_records_before(17).ok());
  log->close();
  log.reset();
  auto again = open_log(true, 30, /*log_start=*/17);
  EXPECT_EQ(again->log_start_offset(), 17);
  EXPECT_EQ(again->log_end_offset(), 30);
}

}  // namespace
}  // namespace samsa::log
