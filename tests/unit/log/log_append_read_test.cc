// Append/read round trips: offsets, many segments, index lookups at every
// offset, size limits, min_one_message, the end of the log and bounds.
#include "log_test_util.h"

namespace samsa::log {
namespace {

using test::LogFixture;

struct AppendReadTest : LogFixture {};

TEST_F(AppendReadTest, OffsetsAssignedAndReturned) {
  auto log = open_log();
  auto batches = test::concat({test::make_batch(3, clock->now_ms()), test::make_batch(2, clock->now_ms())});
  auto r = log->append_as_leader(batches, 7);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->first_offset, 0);
  EXPECT_EQ(r->last_offset, 4);
  EXPECT_EQ(r->log_append_time, -1);
  EXPECT_EQ(r->log_start_offset, 0);
  EXPECT_EQ(r->max_timestamp, clock->now_ms() + 2);
  EXPECT_EQ(r->offset_of_max_timestamp, 2);
  EXPECT_EQ(log->log_end_offset(), 5);

  auto read = log->read(0, 1 << 20, false, log->log_end_offset());
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->size, batches.size());
  auto bytes = test::read_range(*read);
  EXPECT_EQ(bytes, batches);  // stored as appended, offsets/epoch stamped in place
  auto hs = test::headers_of(bytes);
  ASSERT_EQ(hs.size(), 2u);
  EXPECT_EQ(hs[0].base_offset, 0);
  EXPECT_EQ(hs[1].base_offset, 3);
  EXPECT_EQ(hs[1].partition_leader_epoch, 7);
  for (const auto& b : protocol::split_batches(bytes, true).batches)
    EXPECT_TRUE(protocol::verify_crc(b.bytes));
}

TEST_F(AppendReadTest, EveryOffsetReadableAcrossManySegments) {
  auto log = open_log();
  std::vector<int64_t> batch_base;
  for (int i = 0; i < 200; ++i) {
    int n = 1 + i % 4;
    int64_t first = append(*log, n, 40);
    for (int k = 0; k < n; ++k) batch_base.push_back(first);
  }
  const int64_t leo = log->log_end_offset();
  ASSERT_EQ(leo, static_cast<int64_t>(batch_base.size()));
  EXPECT_GT(log->segment_base_offsets().size(), 5u);
  for (int64_t off = 0; off < leo; ++off) {
    auto r = log->read(off, 1, true, leo);
    ASSERT_TRUE(r.ok()) << off;
    auto hs = test::headers_of(test::read_range(*r));
    ASSERT_EQ(hs.size(), 1u) << off;
    EXPECT_EQ(hs[0].base_offset, batch_base[off]) << off;
    EXPECT_EQ(r->first_offset, batch_base[off]);
  }
  // Reading everything from 0 returns whole batches of one segment.
  auto r = log->read(0, 1 << 20, false, leo);
  ASSERT_TRUE(r.ok());
  auto hs = test::headers_of(test::read_range(*r));
  EXPECT_EQ(hs.front().base_offset, 0);
  EXPECT_EQ(hs.back().next_offset(), log->segment_base_offsets()[1]);
}

TEST_F(AppendReadTest, MaxBytesCutsAtWholeBatches) {
  auto log = open_log();
  for (int i = 0; i < 10; ++i) append(*log, 1, 100);
  auto one = log->read(0, 1 << 20, false, 1);
  const size_t batch_size = one->size;
  auto r = log->read(0, batch_size * 3 + batch_size / 2, false, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size, batch_size * 3);
  EXPECT_EQ(test::headers_of(test::read_range(*r)).size(), 3u);
  // Smaller than one batch: nothing without min_one_message.
  EXPECT_EQ(log->read(0, batch_size - 1, false, 10)->size, 0u);
  EXPECT_EQ(log->read(0, batch_size - 1, true, 10)->size, batch_size);
}

TEST_F(AppendReadTest, MinOneMessageReturnsHugeBatchWhole) {
  config.segment_bytes = 1 << 20;
  auto log = open_log();
  append(*log, 1, 10);
  append(*log, 5, 50'000);  // ~250 KB
  append(*log, 1, 10);
  auto r = log->read(1, 1000, true, 7);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->size, 250'000u);
  auto hs = test::headers_of(test::read_range(*r));
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].base_offset, 1);
  EXPECT_EQ(log->read(1, 1000, false, 7)->size, 0u);
}

TEST_F(AppendReadTest, ReadAtEndIsEmptyAndBeyondIsOutOfRange) {
  auto log = open_log();
  auto empty = log->read(0, 1000, true, 0);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size, 0u);
  EXPECT_EQ(empty->file, nullptr);
  append(*log, 2);
  auto at_end = log->read(2, 1000, true, 2);
  ASSERT_TRUE(at_end.ok());
  EXPECT_EQ(at_end->size, 0u);
  EXPECT_EQ(at_end->log_end_offset, 2);
  auto beyond = log->read(3, 1000, true, 3);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error().code, LogErrc::kOffsetOutOfRange);
  EXPECT_EQ(log->read(-1, 1000, true, 2).error().code, LogErrc::kOffsetOutOfRange);
}

TEST_F(AppendReadTest, HighWatermarkBoundsReads) {
  auto log = open_log();
  for (int i = 0; i < 5; ++i) append(*log, 2);
  log->set_high_watermark(6);
  EXPECT_EQ(log->high_watermark(), 6);
  auto r = log->read(0, 1 << 20, false, log->high_watermark());
  ASSERT_TRUE(r.ok());
  auto hs = test::headers_of(test::read_range(*r));
  ASSERT_EQ(hs.size(), 3u);
  EXPECT_EQ(hs.back().last_offset(), 5);
  // Between the high watermark and the end: nothing, no error.
  auto above = log->read(7, 1 << 20, false, 6);
  ASSERT_TRUE(above.ok());
  EXPECT_EQ(above->size, 0u);
}

TEST_F(AppendReadTest, RangeStaysReadableAfterSegmentDeleted) {
  auto log = open_log();
  for (int i = 0; i < 60; ++i) append(*log, 1, 100);
  log->set_high_watermark(log->log_end_offset());
  auto r = log->read(0, 1 << 20, false, 60);
  ASSERT_TRUE(r.ok());
  auto before = test::read_range(*r);
  ASSERT_TRUE(log->delete_records_before(50).ok());
  EXPECT_FALSE(std::filesystem::exists(segment_path(0, kLogSuffix)));
  EXPECT_EQ(test::read_range(*r), before);  // the fd still holds the data
}

TEST_F(AppendReadTest, FollowerAppendKeepsOffsetsAndRejectsGoingBack) {
  auto log = open_log();
  protocol::RecordBatchOptions opts;
  opts.base_offset = 10;
  opts.partition_leader_epoch = 3;
  auto batch = test::make_batch(3, clock->now_ms(), 10, opts);
  // A follower's log may start anywhere only if empty; here it is empty at 0,
  // and the leader's offsets jump to 10 (allowed: offsets only increase).
  auto r = log->append_as_follower(batch);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->first_offset, 10);
  EXPECT_EQ(log->log_end_offset(), 13);
  EXPECT_EQ(log->leader_epoch_cache().latest_epoch(), 3);
  auto again = log->append_as_follower(batch);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, LogErrc::kNonMonotonicOffsets);
}

TEST_F(AppendReadTest, TruncateToDropsTail) {
  auto log = open_log();
  for (int i = 0; i < 80; ++i) append(*log, 2, 50);
  ASSERT_GT(log->segment_base_offsets().size(), 2u);
  auto r = log->truncate_to(21);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(log->log_end_offset(), 20);  // whole batches: 20..21 went
  EXPECT_EQ(append(*log, 1), 20);
  auto read = log->read(18, 1 << 20, false, 21);
  auto hs = test::headers_of(test::read_range(*read));
  ASSERT_EQ(hs.size(), 2u);
  EXPECT_EQ(hs[1].base_offset, 20);
}

}  // namespace
}  // namespace samsa::log
