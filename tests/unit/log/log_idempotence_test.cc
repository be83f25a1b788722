// Idempotent appends through the Log: duplicates answered with the original
// offsets and never written, refused gaps and epochs leave the log as it
// was, and the producer state survives roll, clean close, a crash,
// retention and truncation.
#include <filesystem>

#include "log_test_util.h"

namespace samsa::log {
namespace {

using test::LogFixture;
namespace fs = std::filesystem;

struct IdempotenceTest : LogFixture {
  // One batch of `records` records from producer `pid`.
  LogResult<AppendInfo> produce(Log& log, int64_t pid, int16_t epoch, int32_t seq, int records = 2,
                                size_t value_size = 10) {
    protocol::RecordBatchOptions o;
    o.producer_id = pid;
    o.producer_epoch = epoch;
    o.base_sequence = seq;
    auto b = test::make_batch(records, clock->now_ms(), value_size, o);
    return log.append_as_leader(b, 0);
  }
  LogErrc error_of(const LogResult<AppendInfo>& r) {
    EXPECT_FALSE(r.ok());
    return r.ok() ? LogErrc::kLogClosed : r.error().code;
  }
  bool snapshot_exists(int64_t offset) { return fs::exists(producer_snapshot_path(log_dir(), offset)); }
};

TEST_F(IdempotenceTest, DuplicateIsAnsweredWithOriginalOffsetsAndNotWritten) {
  auto log = open_log();
  append(*log, 3);  // offsets 0-2 without a producer
  ASSERT_EQ(produce(*log, 7, 0, 0)->first_offset, 3);
  ASSERT_EQ(produce(*log, 7, 0, 2)->first_offset, 5);
  const uint64_t size = log->size_in_bytes();

  auto dup = produce(*log, 7, 0, 0);
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->first_offset, 3);
  EXPECT_EQ(dup->last_offset, 4);
  EXPECT_EQ(dup->num_batches, 0);
  EXPECT_EQ(log->log_end_offset(), 7);
  EXPECT_EQ(log->size_in_bytes(), size);
  EXPECT_EQ(produce(*log, 7, 0, 4)->first_offset, 7);
}

TEST_F(IdempotenceTest, GapAndOldEpochAreRefusedAndLeaveTheLogAlone) {
  auto log = open_log();
  ASSERT_TRUE(produce(*log, 7, 1, 0).ok());
  const uint64_t size = log->size_in_bytes();
  EXPECT_EQ(error_of(produce(*log, 7, 1, 5)), LogErrc::kOutOfOrderSequence);
  EXPECT_EQ(error_of(produce(*log, 7, 0, 2)), LogErrc::kInvalidProducerEpoch);
  EXPECT_EQ(error_of(produce(*log, 7, 2, 1)), LogErrc::kOutOfOrderSequence);
  EXPECT_EQ(log->log_end_offset(), 2);
  EXPECT_EQ(log->size_in_bytes(), size);
  auto producers = log->active_producers();
  ASSERT_EQ(producers.size(), 1u);
  EXPECT_EQ(producers[0].producer_id, 7);
  EXPECT_EQ(producers[0].producer_epoch, 1);
  EXPECT_EQ(producers[0].last_seq(), 1);
}

TEST_F(IdempotenceTest, RollWritesSnapshotAtNewSegmentBase) {
  config.segment_bytes = 600;
  auto log = open_log();
  int32_t seq = 0;
  while (log->segment_base_offsets().size() < 3) {
    ASSERT_TRUE(produce(*log, 7, 0, seq, 2, 100).ok());
    seq += 2;
  }
  for (int64_t base : log->segment_base_offsets())
    EXPECT_EQ(snapshot_exists(base), base != 0) << base;
  auto entries = read_producer_snapshot(producer_snapshot_path(log_dir(), log->segment_base_offsets()[1]));
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].last_offset, log->segment_base_offsets()[1] - 1);
}

TEST_F(IdempotenceTest, CleanCloseSnapshotsAtLogEndAndRestoresState) {
  auto log = open_log();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(produce(*log, 7, 0, 2 * i).ok());
  log->close();
  log.reset();
  EXPECT_TRUE(snapshot_exists(8));
  auto again = open_log(/*clean=*/true);
  auto dup = produce(*again, 7, 0, 6);
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->first_offset, 6);
  EXPECT_EQ(error_of(produce(*again, 7, 0, 10)), LogErrc::kOutOfOrderSequence);
  EXPECT_EQ(produce(*again, 7, 0, 8)->first_offset, 8);
}

TEST_F(IdempotenceTest, CrashRebuildsStateFromTheLogTail) {
  auto log = open_log();
  int32_t seq = 0;
  for (int i = 0; i < 3; ++i, seq += 2) ASSERT_TRUE(produce(*log, 7, 0, seq).ok());
  log->roll();  // snapshot at 6
  EXPECT_TRUE(snapshot_exists(6));
  for (int i = 0; i < 5; ++i, seq += 2) ASSERT_TRUE(produce(*log, 7, 0, seq).ok());
  ASSERT_TRUE(produce(*log, 9, 3, 0, 1).ok());
  const int64_t leo = log->log_end_offset();
  log.reset();  // crash: no close, no snapshot at the log end
  EXPECT_FALSE(snapshot_exists(leo));

  auto again = open_log(/*clean=*/false);
  EXPECT_EQ(again->log_end_offset(), leo);
  // Each of the last five batches of producer 7 is still recognised.
  for (int i = 1; i <= 5; ++i) {
    auto dup = produce(*again, 7, 0, seq - 2 * i);
    ASSERT_TRUE(dup.ok()) << i << " " << dup.error().message;
    EXPECT_TRUE(dup->duplicate) << i;
  }
  EXPECT_EQ(again->log_end_offset(), leo);
  EXPECT_EQ(produce(*again, 7, 0, seq)->first_offset, leo);
  EXPECT_EQ(error_of(produce(*again, 9, 2, 1)), LogErrc::kInvalidProducerEpoch);
  EXPECT_TRUE(snapshot_exists(leo));  // taken after the rebuild
}

TEST_F(IdempotenceTest, CrashWithoutAnySnapshotReplaysFromTheStart) {
  auto log = open_log();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(produce(*log, 7, 0, 2 * i).ok());
  log.reset();
  auto again = open_log(/*clean=*/false);
  EXPECT_TRUE(produce(*again, 7, 0, 0)->duplicate);
}

TEST_F(IdempotenceTest, RetentionDeletesSnapshotsWithTheirSegments) {
  config.segment_bytes = 600;
  config.retention_bytes = 700;
  auto log = open_log();
  int32_t seq = 0;
  while (log->segment_base_offsets().size() < 4) {
    ASSERT_TRUE(produce(*log, 7, 0, seq, 2, 100).ok());
    seq += 2;
  }
  const auto before = log->segment_base_offsets();
  log->set_high_watermark(log->log_end_offset());
  ASSERT_GT(log->delete_old_segments(), 0u);
  const auto after = log->segment_base_offsets();
  for (int64_t base : before) {
    const bool kept = std::find(after.begin(), after.end(), base) != after.end();
    if (base != 0) {
      EXPECT_EQ(snapshot_exists(base), kept) << base;
    }
  }
  // The state itself stays (KIP-360): the next batch continues the sequence.
  EXPECT_TRUE(produce(*log, 7, 0, seq).ok());
}

TEST_F(IdempotenceTest, TruncationReloadsStateBelowTheCut) {
  auto log = open_log();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(produce(*log, 7, 0, 2 * i).ok());
  ASSERT_TRUE(log->truncate_to(4).ok());
  // Batches at 4-5 and 6-7 are gone: seq 4 is next again, 6 is a gap.
  EXPECT_EQ(error_of(produce(*log, 7, 0, 6)), LogErrc::kOutOfOrderSequence);
  EXPECT_EQ(produce(*log, 7, 0, 4)->first_offset, 4);
}

TEST_F(IdempotenceTest, ExpiredProducersAreRemoved) {
  config.producer_id_expiration_ms = 60'000;
  auto log = open_log();
  ASSERT_TRUE(produce(*log, 7, 0, 0).ok());
  clock->advance(30'000);
  EXPECT_EQ(log->remove_expired_producers(), 0u);
  clock->advance(30'001);  // the batch's max timestamp is now + 1
  EXPECT_EQ(log->remove_expired_producers(), 1u);
  EXPECT_TRUE(log->active_producers().empty());
  // Unknown again: any sequence is accepted.
  EXPECT_TRUE(produce(*log, 7, 0, 40).ok());
}

}  // namespace
}  // namespace samsa::log
