// Roll-time fsyncs leave the appending thread: the producer snapshot a roll
// writes is there at once (unsynced) and its fsync is handed to the log's
// background executor, as Kafka's scheduler flushes it.
#include <filesystem>

#include "log_test_util.h"
#include "samsa/log/producer_snapshot.h"
#include "samsa/util/file_util.h"

namespace samsa::log {
namespace {

struct RollBackgroundTest : test::LogFixture {
  std::vector<std::function<void()>> jobs;  // posted, run when the test says

  std::shared_ptr<Log> open_with_background() {
    LogOpenOptions o;
    o.dir = log_dir();
    o.tp = {"topic", 0};
    o.config = config;
    o.clock = clock;
    o.clean_shutdown = true;
    o.background = [this](std::function<void()> job) { jobs.push_back(std::move(job)); };
    auto r = Log::open(o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : nullptr;
  }
};

TEST_F(RollBackgroundTest, RollWritesSnapshotAndHandsItsFsyncOver) {
  auto log = open_with_background();
  ASSERT_TRUE(log);
  while (log->segment_base_offsets().size() < 3) append(*log, 5, 200);
  const auto bases = log->segment_base_offsets();
  // One fsync job per roll, none run yet; the snapshots are already readable.
  ASSERT_EQ(jobs.size(), bases.size() - 1);
  for (size_t i = 1; i < bases.size(); ++i) {
    const std::string path = producer_snapshot_path(log_dir(), bases[i]);
    EXPECT_TRUE(std::filesystem::exists(path)) << path;
    EXPECT_TRUE(read_producer_snapshot(path).ok()) << path;
  }
  for (auto& j : jobs) j();  // the executor's turn: fsyncs succeed

  // Appends and reads went on while the fsyncs waited; reopening finds all.
  const int64_t end = log->log_end_offset();
  log->close();
  auto reopened = open_log();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->log_end_offset(), end);
}

TEST_F(RollBackgroundTest, FsyncOfASnapshotDeletedMeanwhileIsNotAnError) {
  auto log = open_with_background();
  ASSERT_TRUE(log);
  while (log->segment_base_offsets().size() < 2) append(*log, 5, 200);
  ASSERT_EQ(jobs.size(), 1u);
  std::filesystem::remove(producer_snapshot_path(log_dir(), log->segment_base_offsets()[1]));
  EXPECT_NO_THROW(jobs[0]());
  EXPECT_NO_THROW(util::sync_file(log_dir() + "/no-such-file"));
}

TEST_F(RollBackgroundTest, WithoutBackgroundRollSyncsInline) {
  auto log = open_log();
  ASSERT_TRUE(log);
  while (log->segment_base_offsets().size() < 2) append(*log, 5, 200);
  EXPECT_TRUE(std::filesystem::exists(producer_snapshot_path(log_dir(), log->segment_base_offsets()[1])));
  EXPECT_TRUE(jobs.empty());
}

}  // namespace
}  // namespace samsa::log

namespace samsa::log {
namespace {

TEST_F(RollBackgroundTest, RetentionDeletesSegmentFilesOffTheAppendLock) {
  config.retention_bytes = 1;  // keep only the active segment
  auto log = open_with_background();
  ASSERT_TRUE(log);
  while (log->segment_base_offsets().size() < 3) append(*log, 5, 200);
  log->set_high_watermark(log->log_end_offset());
  const int64_t first_base = log->segment_base_offsets().front();
  const std::string first_log = log_dir() + "/" + std::string(20 - std::to_string(first_base).size(), '0') +
                                std::to_string(first_base) + ".log";
  ASSERT_TRUE(std::filesystem::exists(first_log));
  jobs.clear();

  const size_t deleted = log->delete_old_segments();
  ASSERT_GE(deleted, 2u);
  // The log moved on at once; the files wait for the background job.
  EXPECT_GT(log->log_start_offset(), first_base);
  EXPECT_EQ(log->segment_base_offsets().size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(first_log));
  ASSERT_GE(jobs.size(), deleted + 1);  // the segments, and the epoch checkpoint's fsync
  // The leader epoch checkpoint already says where the log starts now.
  EXPECT_EQ(test::read_all(log_dir() + "/leader-epoch-checkpoint"),
            "0\n1\n0 " + std::to_string(log->log_start_offset()) + "\n");
  for (auto& j : jobs) j();
  EXPECT_FALSE(std::filesystem::exists(first_log));
  EXPECT_FALSE(std::filesystem::exists(first_log + ".deleted"));
  // Appends carry on.
  EXPECT_GE(append(*log, 1), log->log_start_offset());
}

}  // namespace
}  // namespace samsa::log

namespace samsa::log {
namespace {

// file.delete.delay.ms: with a delayed executor, retention renames the
// segment's files to *.deleted at once and unlinks them when the delay's job runs.
TEST_F(RollBackgroundTest, RetentionRenamesNowAndUnlinksAfterFileDeleteDelay) {
  config.retention_bytes = 1;
  config.file_delete_delay_ms = 12345;
  std::vector<std::pair<int64_t, std::function<void()>>> delayed;
  LogOpenOptions o;
  o.dir = log_dir();
  o.tp = {"topic", 0};
  o.config = config;
  o.clock = clock;
  o.clean_shutdown = true;
  o.background = [this](std::function<void()> job) { jobs.push_back(std::move(job)); };
  o.background_after = [&](int64_t delay_ms, std::function<void()> job) { delayed.emplace_back(delay_ms, std::move(job)); };
  auto opened = Log::open(o);
  ASSERT_TRUE(opened.ok());
  auto log = opened.value();
  while (log->segment_base_offsets().size() < 3) append(*log, 5, 200);
  log->set_high_watermark(log->log_end_offset());
  const std::string first_log = log_dir() + "/" + offset_file_stem(log->segment_base_offsets().front()) + ".log";
  const size_t deleted = log->delete_old_segments();
  ASSERT_GE(deleted, 2u);
  ASSERT_EQ(delayed.size(), deleted);
  for (const auto& [delay, job] : delayed) EXPECT_EQ(delay, 12345);
  EXPECT_FALSE(std::filesystem::exists(first_log));
  EXPECT_TRUE(std::filesystem::exists(first_log + ".deleted"));
  for (auto& [delay, job] : delayed) job();
  EXPECT_FALSE(std::filesystem::exists(first_log + ".deleted"));
  for (const auto& e : std::filesystem::directory_iterator(log_dir()))
    EXPECT_EQ(e.path().string().find(".deleted"), std::string::npos) << e.path();
  EXPECT_GE(append(*log, 1), log->log_start_offset());
}

}  // namespace
}  // namespace samsa::log
