// Reopening: clean (trusted, no scan), unclean (scan from the recovery
// point), torn and corrupt tails, missing and corrupt indexes.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "log_test_util.h"

namespace samsa::log {
namespace {

using test::LogFixture;
namespace fs = std::filesystem;

struct RecoveryTest : LogFixture {
  // Flips one byte inside the records of the batch holding `offset`.
  void corrupt_batch_at(Log& log, int64_t offset) {
    auto r = log.read(offset, 1, true, log.log_end_offset());
    ASSERT_TRUE(r.ok());
    std::fstream f(r->file->path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(r->position + r->size - 3));
    f.put('\x7f');
  }
  std::vector<uint8_t> all_bytes(Log& log) {
    std::vector<uint8_t> out;
    int64_t off = log.log_start_offset();
    while (off < log.log_end_offset()) {
      auto r = log.read(off, 1 << 20, true, log.log_end_offset());
      auto bytes = test::read_range(*r);
      out.insert(out.end(), bytes.begin(), bytes.end());
      off = test::headers_of(bytes).back().next_offset();
    }
    return out;
  }
};

TEST_F(RecoveryTest, CleanReopenTrustsFilesWithoutScanning) {
  auto log = open_log();
  for (int i = 0; i < 50; ++i) append(*log, 2, 60);
  auto expected = all_bytes(*log);
  log->close();
  log.reset();
  // Active segment indexes were trimmed on close.
  auto active_idx = segment_path(open_log()->segment_base_offsets().back(), kIndexSuffix);
  {
    auto reopened = open_log(true);
    EXPECT_EQ(reopened->log_end_offset(), 100);
    EXPECT_EQ(all_bytes(*reopened), expected);
    // A CRC error in the middle of a trusted segment is not noticed without
    // a scan: proof that a clean start skips validation.
    corrupt_batch_at(*reopened, 2);
    reopened->close();
  }
  auto again = open_log(true);
  EXPECT_EQ(again->log_end_offset(), 100);
}

TEST_F(RecoveryTest, UncleanReopenScansAndKeepsValidData) {
  auto log = open_log();
  for (int i = 0; i < 50; ++i) append(*log, 2, 60);
  auto expected = all_bytes(*log);
  log.reset();  // crash: no close, indexes still preallocated
  auto again = open_log(false);
  EXPECT_EQ(again->log_end_offset(), 100);
  EXPECT_EQ(all_bytes(*again), expected);
  EXPECT_EQ(append(*again, 1), 100);
}

TEST_F(RecoveryTest, TornTailTruncatedAtLastValidBatch) {
  auto log = open_log();
  for (int i = 0; i < 10; ++i) append(*log, 2, 60);
  const int64_t active = log->segment_base_offsets().back();
  const std::string path = segment_path(active, kLogSuffix);
  log.reset();
  const auto valid_size = fs::file_size(path);
  // A partial batch at the end: the first 40 bytes of a real one.
  auto partial = test::make_batch(3, clock->now_ms());
  partial.resize(40);
  test::append_bytes_to_file(path, partial);
  auto again = open_log(false);
  EXPECT_EQ(fs::file_size(path), valid_size);
  EXPECT_EQ(again->log_end_offset(), 20);
  EXPECT_EQ(append(*again, 1), 20);
}

TEST_F(RecoveryTest, CorruptCrcInTailTruncatesThereAndDropsLaterSegments) {
  auto log = open_log();
  for (int i = 0; i < 60; ++i) append(*log, 2, 60);
  auto bases = log->segment_base_offsets();
  ASSERT_GE(bases.size(), 3u);
  // Recovery point at the second segment; corrupt a batch in it.
  const int64_t victim_seg = bases[1];
  const int64_t victim_offset = victim_seg + 4;
  auto victim = log->read(victim_offset, 1, true, log->log_end_offset());
  const uint64_t victim_pos = victim->position;
  corrupt_batch_at(*log, victim_offset);
  log.reset();
  // Plus garbage at the end of the last segment.
  test::append_bytes_to_file(segment_path(bases.back(), kLogSuffix), std::vector<uint8_t>(100, 0xab));
  auto again = open_log(false, /*recovery_point=*/bases[1]);
  EXPECT_EQ(fs::file_size(segment_path(victim_seg, kLogSuffix)), victim_pos);
  EXPECT_EQ(again->log_end_offset(), victim_offset);
  EXPECT_EQ(again->segment_base_offsets(), (std::vector<int64_t>{bases[0], bases[1]}));
  EXPECT_FALSE(fs::exists(segment_path(bases[2], kLogSuffix)));
  EXPECT_EQ(append(*again, 1), victim_offset);
}

TEST_F(RecoveryTest, GarbageOnlyTailIsCutOnCleanStartToo) {
  auto log = open_log();
  for (int i = 0; i < 5; ++i) append(*log, 1);
  log->close();
  log.reset();
  const std::string path = segment_path(0, kLogSuffix);
  const auto valid_size = fs::file_size(path);
  test::append_bytes_to_file(path, std::vector<uint8_t>(30, 0));
  auto again = open_log(true);  // header check at the tail fails -> recover
  EXPECT_EQ(fs::file_size(path), valid_size);
  EXPECT_EQ(again->log_end_offset(), 5);
}

TEST_F(RecoveryTest, MissingIndexIsRebuilt) {
  auto log = open_log();
  for (int i = 0; i < 40; ++i) append(*log, 1, 60);
  const std::string idx = segment_path(0, kIndexSuffix);
  const std::string before = test::read_all(idx);
  ASSERT_FALSE(before.empty());
  log->close();
  log.reset();
  fs::remove(idx);
  fs::remove(segment_path(0, kTimeIndexSuffix));
  auto again = open_log(true);
  EXPECT_EQ(test::read_all(idx), before);  // identical rebuild
  for (int64_t off = 0; off < 40; ++off) EXPECT_EQ(again->read(off, 1, true, 40)->first_offset, off);
}

TEST_F(RecoveryTest, CorruptIndexIsRebuilt) {
  auto log = open_log();
  for (int i = 0; i < 40; ++i) append(*log, 1, 60);
  const std::string idx = segment_path(0, kIndexSuffix);
  const std::string before = test::read_all(idx);
  log->close();
  log.reset();
  {
    std::fstream f(idx, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);  // second entry's relative offset -> 0 (not increasing)
    f.write("\0\0\0\0", 4);
  }
  auto again = open_log(true);
  EXPECT_EQ(test::read_all(idx), before);
  EXPECT_EQ(again->read(20, 1, true, 40)->first_offset, 20);
}

TEST_F(RecoveryTest, LeftoversOfInterruptedDeletesRemoved) {
  auto log = open_log();
  append(*log, 1);
  log->close();
  log.reset();
  test::append_bytes_to_file(log_dir() + "/00000000000000000099.log.deleted", {1, 2, 3});
  test::append_bytes_to_file(log_dir() + "/00000000000000000099.index", {1, 2, 3});
  auto again = open_log(true);
  EXPECT_FALSE(fs::exists(log_dir() + "/00000000000000000099.log.deleted"));
  EXPECT_FALSE(fs::exists(log_dir() + "/00000000000000000099.index"));
}

}  // namespace
}  // namespace samsa::log
