// MemoryLog (epoch history, crash semantics) and FileQuorumStateStore.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "samsa/raft/consensus/file_quorum_state_store.h"
#include "samsa/raft/consensus/memory_log.h"
#include "samsa/raft/quorum_state.h"

namespace samsa::raft {
namespace {

MemoryLog log_with_epochs(std::initializer_list<Epoch> epochs) {
  MemoryLog log;
  std::vector<Entry> entries;
  for (Epoch e : epochs) entries.push_back(Entry{e, false, "x"});
  log.append_as_follower(entries);
  return log;
}

TEST(MemoryLogTest, EndOffsetForEpochFollowsKafkaSemantics) {
  MemoryLog log = log_with_epochs({1, 1, 3, 3, 3, 6});
  EXPECT_EQ(log.end_offset_for_epoch(0), (OffsetAndEpoch{0, 0}));
  EXPECT_EQ(log.end_offset_for_epoch(1), (OffsetAndEpoch{2, 1}));
  // Epoch 2 never had entries here: the largest epoch below it answers.
  EXPECT_EQ(log.end_offset_for_epoch(2), (OffsetAndEpoch{2, 1}));
  EXPECT_EQ(log.end_offset_for_epoch(3), (OffsetAndEpoch{5, 3}));
  EXPECT_EQ(log.end_offset_for_epoch(5), (OffsetAndEpoch{5, 3}));
  EXPECT_EQ(log.end_offset_for_epoch(6), (OffsetAndEpoch{6, 6}));
  EXPECT_EQ(log.end_offset_for_epoch(9), (OffsetAndEpoch{6, 6}));
  EXPECT_EQ(MemoryLog{}.end_offset_for_epoch(4), (OffsetAndEpoch{0, 0}));
}

TEST(MemoryLogTest, CrashLosesOnlyTheUnflushedTail) {
  MemoryLog log;
  log.append_as_leader({Entry{0, false, "a"}, Entry{0, false, "b"}}, 2);
  log.flush();
  log.append_as_leader({Entry{0, false, "c"}}, 2);
  EXPECT_EQ(log.flushed_offset(), 2);
  log.crash();
  ASSERT_EQ(log.end_offset(), 2);
  EXPECT_EQ(log.entries()[1].data, "b");
  EXPECT_EQ(log.entries()[1].epoch, 2);
}

TEST(MemoryLogTest, TruncationReportsAndLowersTheFlushedOffset) {
  MemoryLog log = log_with_epochs({1, 1, 2, 2});
  log.flush();
  Offset seen = -1;
  log.on_truncate = [&](Offset o) { seen = o; };
  log.truncate_to(1);
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(log.end_offset(), 1);
  EXPECT_EQ(log.flushed_offset(), 1);
  EXPECT_EQ(log.last_fetched_epoch(), 1);
  EXPECT_THROW(log.append_as_leader({Entry{}}, 0), std::logic_error);  // epochs never go back
}

TEST(FileQuorumStateStoreTest, RoundTripsInKafkasFormat) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("samsa-qstore-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  FileQuorumStateStore store(dir.string(), {1, 2, 3});
  EXPECT_FALSE(store.read().has_value());
  store.write(ElectionState{7, kNoNode, 2});
  auto back = FileQuorumStateStore(dir.string(), {1, 2, 3}).read();
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, (ElectionState{7, kNoNode, 2}));
  auto q = QuorumState::read(dir.string());
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->leader_epoch, 7);
  EXPECT_EQ(q->voted_id, 2);
  EXPECT_EQ(q->voters, (std::vector<int32_t>{1, 2, 3}));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace samsa::raft
