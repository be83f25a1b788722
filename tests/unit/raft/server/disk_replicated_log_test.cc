// DiskReplicatedLog: the behaviour MemoryLog defines (epoch history,
// truncation, flushed offset), plus what the disk adds: reopening, torn
// tails, lost unsynced writes (FaultInjectionEnv) and snapshots.
#include "samsa/raft/server/disk_replicated_log.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "samsa/util/fault_injection_env.h"

namespace samsa::raft {
namespace {

namespace fs = std::filesystem;

Entry entry(Epoch epoch, std::vector<std::string> records) { return Entry{epoch, false, 0, std::move(records)}; }

class DiskReplicatedLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("samsa-disklog-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    env.set_forward_syncs(false);
    util::Env::mount(dir.string(), &env);
    options.metadata_dir = dir.string();
    options.config.segment_bytes = 1024;  // several segments for trimming
    options.on_io_error = [this](const std::string&) { ++io_errors; };
  }
  void TearDown() override {
    util::Env::unmount(dir.string());
    fs::remove_all(dir);
  }
  std::unique_ptr<DiskReplicatedLog> open() { return std::make_unique<DiskReplicatedLog>(options); }
  // One single-record entry per epoch given.
  static void fill(DiskReplicatedLog& log, std::initializer_list<Epoch> epochs) {
    std::vector<Entry> entries;
    for (Epoch e : epochs) entries.push_back(entry(e, {"x"}));
    log.append_as_follower(entries);
  }
  void crash() {
    env.crash_after(env.op_count());
    env.drop_unsynced_data();
    env.reset();
  }

  fs::path dir;
  util::FaultInjectionEnv env;
  DiskLogOptions options;
  int io_errors = 0;
};

TEST_F(DiskReplicatedLogTest, EndOffsetForEpochFollowsKafkaSemantics) {
  auto log = open();
  EXPECT_EQ(log->end_offset_for_epoch(4), (OffsetAndEpoch{0, 0}));
  fill(*log, {1, 1, 3, 3, 3, 6});
  EXPECT_EQ(log->end_offset_for_epoch(0), (OffsetAndEpoch{0, 0}));
  EXPECT_EQ(log->end_offset_for_epoch(1), (OffsetAndEpoch{2, 1}));
  EXPECT_EQ(log->end_offset_for_epoch(2), (OffsetAndEpoch{2, 1}));
  EXPECT_EQ(log->end_offset_for_epoch(3), (OffsetAndEpoch{5, 3}));
  EXPECT_EQ(log->end_offset_for_epoch(5), (OffsetAndEpoch{5, 3}));
  EXPECT_EQ(log->end_offset_for_epoch(6), (OffsetAndEpoch{6, 6}));
  EXPECT_EQ(log->end_offset_for_epoch(9), (OffsetAndEpoch{6, 6}));
  EXPECT_EQ(log->last_fetched_epoch(), 6);
}

TEST_F(DiskReplicatedLogTest, EntriesAreBatchesThatRoundTrip) {
  auto log = open();
  Entry control{0, true, kLeaderChangeControlType, {"leader-change-bytes"}};
  EXPECT_EQ(log->append_as_leader({control, entry(0, {"a", "b", "c"})}, 4), 0);
  EXPECT_EQ(log->append_as_leader({entry(0, {"d"})}, 4), 4);
  EXPECT_EQ(log->end_offset(), 5);
  auto all = log->read(0, 10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0], (Entry{4, true, kLeaderChangeControlType, {"leader-change-bytes"}}));
  EXPECT_EQ(all[1], entry(4, {"a", "b", "c"}));
  EXPECT_EQ(all[2], entry(4, {"d"}));
  EXPECT_EQ(log->read(1, 1), std::vector<Entry>{entry(4, {"a", "b", "c"})});
  EXPECT_TRUE(log->read(5, 10).empty());
  EXPECT_THROW(log->read(2, 1), std::logic_error);  // inside a batch
  // The listener's view: offsets, epochs, control batches without records.
  auto batches = log->read_batches(0, 5, 1 << 20);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_TRUE(batches[0].control);
  EXPECT_TRUE(batches[0].records.empty());
  EXPECT_EQ(batches[1].base_offset, 1);
  EXPECT_EQ(batches[1].last_offset, 3);
  EXPECT_EQ(batches[1].epoch, 4);
  EXPECT_EQ(batches[1].records, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_GT(batches[1].append_time_ms, 0);
  EXPECT_EQ(log->read_batches(0, 4, 1 << 20).size(), 2u);  // only whole batches below the end
}

TEST_F(DiskReplicatedLogTest, TruncationLowersTheEndAndTheFlushedOffset) {
  auto log = open();
  fill(*log, {1, 1, 2, 2});
  log->flush();
  EXPECT_EQ(log->flushed_offset(), 4);
  log->truncate_to(1);
  EXPECT_EQ(log->end_offset(), 1);
  EXPECT_EQ(log->flushed_offset(), 1);
  EXPECT_EQ(log->last_fetched_epoch(), 1);
  EXPECT_EQ(log->end_offset_for_epoch(2), (OffsetAndEpoch{1, 1}));
  EXPECT_THROW(log->append_as_leader({entry(0, {"x"})}, 0), std::logic_error);  // epochs never go back
  EXPECT_EQ(log->append_as_leader({entry(0, {"y"})}, 3), 1);
  EXPECT_EQ(log->last_fetched_epoch(), 3);
}

TEST_F(DiskReplicatedLogTest, ReopenKeepsEntriesAndEpochs) {
  {
    auto log = open();
    fill(*log, {1, 2, 2});
    log->append_as_leader({entry(0, {"m", "n"})}, 5);
    log->flush();
  }
  auto log = open();
  EXPECT_EQ(log->end_offset(), 5);
  EXPECT_EQ(log->flushed_offset(), 5);
  EXPECT_EQ(log->last_fetched_epoch(), 5);
  EXPECT_EQ(log->end_offset_for_epoch(4), (OffsetAndEpoch{3, 2}));
  EXPECT_EQ(log->read(3, 1), std::vector<Entry>{entry(5, {"m", "n"})});
}

TEST_F(DiskReplicatedLogTest, CrashLosesOnlyTheUnflushedTail) {
  options.config.segment_bytes = 1 << 20;  // no roll (a roll syncs the segment it closes)
  {
    auto log = open();
    for (int i = 0; i < 30; ++i) log->append_as_leader({entry(0, {std::string(50, 'a' + i % 26)})}, 2);
    log->flush();
    EXPECT_EQ(log->flushed_offset(), 30);
    for (int i = 0; i < 30; ++i) log->append_as_leader({entry(0, {std::string(50, 'z')})}, 3);
    EXPECT_EQ(log->flushed_offset(), 30);
    crash();  // the process dies with the log open
  }
  auto log = open();
  EXPECT_EQ(log->end_offset(), 30);
  EXPECT_EQ(log->last_fetched_epoch(), 2);
  EXPECT_EQ(log->read(29, 1), std::vector<Entry>{entry(2, {std::string(50, 'a' + 29 % 26)})});
  EXPECT_EQ(log->end_offset_for_epoch(3), (OffsetAndEpoch{30, 2}));
}

TEST_F(DiskReplicatedLogTest, TornTailIsTruncatedOnOpen) {
  fs::path segment;
  {
    auto log = open();
    log->append_as_leader({entry(0, {"one"}), entry(0, {std::string(200, 't')})}, 1);
    log->flush();
  }
  for (const auto& f : fs::directory_iterator(dir / DiskReplicatedLog::kDirName))
    if (f.path().extension() == ".log") segment = f.path();
  ASSERT_FALSE(segment.empty());
  fs::resize_file(segment, fs::file_size(segment) - 100);  // the second batch is cut
  auto log = open();
  EXPECT_EQ(log->end_offset(), 1);
  EXPECT_EQ(log->read(0, 5), std::vector<Entry>{entry(1, {"one"})});
  EXPECT_EQ(log->append_as_leader({entry(0, {"two"})}, 1), 1);
}

TEST_F(DiskReplicatedLogTest, SnapshotsTrimTheLogAndSurviveReopen) {
  {
    auto log = open();
    for (int i = 0; i < 40; ++i) log->append_as_leader({entry(0, {std::string(60, 's')})}, i < 20 ? 1 : 2);
    log->flush();
    EXPECT_FALSE(log->latest_snapshot().has_value());
    log->store_snapshot({10, 1}, "old");
    log->store_snapshot({30, 2}, "snapshot-at-30");
    EXPECT_EQ(log->latest_snapshot(), (OffsetAndEpoch{30, 2}));
    EXPECT_EQ(log->read_snapshot({30, 2}), "snapshot-at-30");
    EXPECT_FALSE(log->read_snapshot({31, 2}).has_value());
    log->trim_to_snapshot();
    EXPECT_EQ(log->start_offset(), 30);
    EXPECT_EQ(log->end_offset(), 40);
    EXPECT_FALSE(log->read_snapshot({10, 1}).has_value());  // older snapshots go
    EXPECT_FALSE(fs::exists(log->snapshot_path({10, 1})));
    EXPECT_THROW(log->read_batches(0, 40, 1 << 20), std::out_of_range);
    EXPECT_EQ(log->read(30, 100).size(), 10u);
    EXPECT_EQ(log->end_offset_for_epoch(2), (OffsetAndEpoch{40, 2}));
    EXPECT_EQ(log->end_offset_for_epoch(1), (OffsetAndEpoch{30, 2}));
  }
  auto log = open();
  EXPECT_EQ(log->latest_snapshot(), (OffsetAndEpoch{30, 2}));
  EXPECT_EQ(log->read_snapshot({30, 2}), "snapshot-at-30");
  EXPECT_EQ(log->start_offset(), 30);  // the log starts at its latest snapshot
  EXPECT_EQ(log->end_offset(), 40);
  EXPECT_EQ(log->end_offset_for_epoch(1), (OffsetAndEpoch{30, 2}));
  EXPECT_EQ(log->last_fetched_epoch(), 2);
  EXPECT_EQ(log->read(30, 100).size(), 10u);
}

TEST_F(DiskReplicatedLogTest, ResetToSnapshotEmptiesTheLogAtItsOffset) {
  {
    auto log = open();
    fill(*log, {1, 1, 2});
    log->store_snapshot({100, 7}, "far-ahead");
    log->reset_to_snapshot({100, 7});
    EXPECT_EQ(log->start_offset(), 100);
    EXPECT_EQ(log->end_offset(), 100);
    EXPECT_EQ(log->last_fetched_epoch(), 7);
    EXPECT_EQ(log->end_offset_for_epoch(7), (OffsetAndEpoch{100, 7}));
    EXPECT_EQ(log->end_offset_for_epoch(3), (OffsetAndEpoch{100, 7}));  // the snapshot answers, as MemoryLog
    EXPECT_TRUE(log->read(100, 5).empty());
    log->append_as_follower({entry(8, {"p", "q"})});
    EXPECT_EQ(log->end_offset(), 102);
    EXPECT_EQ(log->end_offset_for_epoch(7), (OffsetAndEpoch{100, 7}));
    EXPECT_EQ(log->end_offset_for_epoch(8), (OffsetAndEpoch{102, 8}));
    log->flush();
  }
  auto log = open();
  EXPECT_EQ(log->end_offset(), 102);
  EXPECT_EQ(log->read(100, 5), std::vector<Entry>{entry(8, {"p", "q"})});
  EXPECT_EQ(log->read_snapshot({100, 7}), "far-ahead");
}

TEST_F(DiskReplicatedLogTest, AnUntrimmedLogStartsAtItsSnapshotAfterRestart) {
  {
    auto log = open();
    fill(*log, {1, 1, 2, 2, 3});
    log->flush();
    log->store_snapshot({3, 2}, "s");  // no trim_to_snapshot before the restart
  }
  auto log = open();
  EXPECT_EQ(log->start_offset(), 3);
  EXPECT_EQ(log->end_offset(), 5);
  EXPECT_EQ(log->end_offset_for_epoch(1), (OffsetAndEpoch{3, 2}));
  EXPECT_EQ(log->end_offset_for_epoch(2), (OffsetAndEpoch{4, 2}));
  EXPECT_EQ(log->read(3, 5).size(), 2u);
}

TEST_F(DiskReplicatedLogTest, ALogBehindItsSnapshotStartsFromTheSnapshot) {
  {
    auto log = open();
    fill(*log, {1, 1});
    log->flush();
    log->store_snapshot({50, 3}, "s");
    // The reset that would follow never happens: the process dies first.
  }
  auto log = open();
  EXPECT_EQ(log->start_offset(), 50);
  EXPECT_EQ(log->end_offset(), 50);
  EXPECT_EQ(log->last_fetched_epoch(), 3);
}

TEST_F(DiskReplicatedLogTest, CrashDuringResetLeavesAUsableLog) {
  // Count the operations of one reset, then crash at each of them.
  auto scenario = [&](std::optional<uint64_t> crash_at) {
    fs::remove_all(dir / DiskReplicatedLog::kDirName);
    {
      auto log = open();
      for (int i = 0; i < 16; ++i) log->append_as_leader({entry(0, {std::string(60, 'r')})}, 2);
      log->flush();
      log->store_snapshot({500, 9}, "s");
      uint64_t start = env.op_count();
      if (crash_at) env.crash_after(start + *crash_at);
      try {
        log->reset_to_snapshot({500, 9});
      } catch (const std::exception&) {
      }
      uint64_t ops = env.op_count() - start;
      env.drop_unsynced_data();
      env.reset();
      if (!crash_at) return ops;
    }
    auto log = open();
    EXPECT_EQ(log->end_offset(), 500) << "crash at op " << *crash_at;
    EXPECT_EQ(log->last_fetched_epoch(), 9);
    return uint64_t{0};
  };
  uint64_t ops = scenario(std::nullopt);
  ASSERT_GT(ops, 3u);
  for (uint64_t k = 0; k < ops; ++k) scenario(k);
}

}  // namespace
}  // namespace samsa::raft

namespace samsa::raft {
namespace {

// A follower writes the leader's bytes: the batch timestamp the leader
// stamped travels with the entry (through Fetch), so CRCs match too.
TEST_F(DiskReplicatedLogTest, AFollowerWritesTheBytesTheLeaderWrote) {
  auto leader = open();
  leader->append_as_leader({entry(0, {"a", "b"}), entry(0, {"c"})}, 3);
  std::vector<Entry> fetched = leader->read(0, 16);
  ASSERT_EQ(fetched.size(), 2u);
  EXPECT_GE(fetched[0].timestamp_ms, 0);
  leader.reset();
  const fs::path leader_segment = dir / "__cluster_metadata-0" / "00000000000000000000.log";
  std::string leader_bytes;
  {
    std::ifstream in(leader_segment, std::ios::binary);
    leader_bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  fs::remove_all(dir / "__cluster_metadata-0");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a later clock must not show
  auto follower = open();
  follower->append_as_follower(fetched);
  follower->flush();
  follower.reset();
  std::ifstream in(leader_segment, std::ios::binary);
  std::string follower_bytes(std::istreambuf_iterator<char>(in), {});
  EXPECT_FALSE(leader_bytes.empty());
  EXPECT_EQ(follower_bytes, leader_bytes);
}

}  // namespace
}  // namespace samsa::raft
