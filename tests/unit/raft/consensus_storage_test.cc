// MemoryLog (epoch history, crash semantics) and FileQuorumStateStore.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "samsa/raft/consensus/file_quorum_state_store.h"
#include "samsa/raft/consensus/memory_log.h"
#include "samsa/raft/quorum_state.h"

namespace samsa::raft {
namespace {

Entry rec(Epoch epoch, std::vector<std::string> records) { return Entry{epoch, false, 0, std::move(records)}; }

MemoryLog log_with_epochs(std::initializer_list<Epoch> epochs) {
  MemoryLog log;
  std::vector<Entry> entries;
  for (Epoch e : epochs) entries.push_back(rec(e, {"x"}));
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
  log.append_as_leader({rec(0, {"a"}), rec(0, {"b"})}, 2);
  log.flush();
  log.append_as_leader({rec(0, {"c"})}, 2);
  EXPECT_EQ(log.flushed_offset(), 2);
  log.crash();
  ASSERT_EQ(log.end_offset(), 2);
  EXPECT_EQ(log.batches()[1].entry.records[0], "b");
  EXPECT_EQ(log.batches()[1].entry.epoch, 2);
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
  EXPECT_THROW(log.append_as_leader({rec(0, {"x"})}, 0), std::logic_error);  // epochs never go back
}

TEST(MemoryLogTest, AnEntryIsOneBatchOfSeveralOffsets) {
  MemoryLog log;
  EXPECT_EQ(log.append_as_leader({rec(0, {"a", "b", "c"})}, 1), 0);
  EXPECT_EQ(log.append_as_leader({rec(0, {"d"}), rec(0, {"e", "f"})}, 2), 3);
  EXPECT_EQ(log.end_offset(), 6);
  EXPECT_EQ(log.end_offset_for_epoch(1), (OffsetAndEpoch{3, 1}));
  EXPECT_EQ(log.end_offset_for_epoch(2), (OffsetAndEpoch{6, 2}));
  // Reads start at a batch boundary and return whole entries.
  auto from3 = log.read(3, 10);
  ASSERT_EQ(from3.size(), 2u);
  EXPECT_EQ(from3[1].records, (std::vector<std::string>{"e", "f"}));
  EXPECT_EQ(log.read(0, 1).size(), 1u);
  EXPECT_TRUE(log.read(6, 10).empty());
  EXPECT_THROW(log.read(1, 10), std::logic_error);
  EXPECT_THROW(log.truncate_to(5), std::logic_error);
  EXPECT_THROW(log.append_as_follower({rec(3, {})}), std::logic_error);  // an entry has a record
  log.flush();
  log.append_as_leader({rec(0, {"g", "h"})}, 2);
  log.crash();  // the unflushed batch goes as a whole
  EXPECT_EQ(log.end_offset(), 6);
  log.truncate_to(3);
  EXPECT_EQ(log.end_offset(), 3);
  EXPECT_EQ(log.last_fetched_epoch(), 1);
  ASSERT_NE(log.entry_at(0), nullptr);
  EXPECT_EQ(log.entry_at(1), nullptr);
}

TEST(MemoryLogTest, SnapshotTrimAndReset) {
  MemoryLog log;
  log.append_as_follower({rec(1, {"a", "b"}), rec(1, {"c"}), rec(2, {"d", "e"}), rec(3, {"f"})});
  log.flush();
  EXPECT_EQ(log.start_offset(), 0);
  EXPECT_FALSE(log.latest_snapshot().has_value());
  log.store_snapshot({3, 1}, "state@3");
  ASSERT_EQ(log.latest_snapshot(), (OffsetAndEpoch{3, 1}));
  EXPECT_EQ(log.read_snapshot({3, 1}), std::optional<std::string>("state@3"));
  EXPECT_FALSE(log.read_snapshot({3, 2}).has_value());  // same offset, other epoch: not that snapshot
  log.trim_to_snapshot();
  EXPECT_EQ(log.start_offset(), 3);
  EXPECT_EQ(log.end_offset(), 6);
  ASSERT_EQ(log.batches().size(), 2u);
  EXPECT_EQ(log.batches()[0].base, 3);
  EXPECT_THROW(log.read(0, 10), std::logic_error);
  EXPECT_THROW(log.truncate_to(2), std::logic_error);
  // Epochs only the snapshot covers are answered by its id.
  EXPECT_EQ(log.end_offset_for_epoch(1), (OffsetAndEpoch{3, 1}));
  EXPECT_EQ(log.end_offset_for_epoch(0), (OffsetAndEpoch{3, 1}));
  EXPECT_EQ(log.end_offset_for_epoch(2), (OffsetAndEpoch{5, 2}));
  // Trimmed entries are gone for good, even through a crash; the snapshot
  // and the flushed tail stay.
  log.crash();
  EXPECT_EQ(log.start_offset(), 3);
  EXPECT_EQ(log.end_offset(), 6);
  // A follower far behind: replaced by a snapshot fetched from the leader.
  log.store_snapshot({40, 7}, "state@40");
  log.reset_to_snapshot({40, 7});
  EXPECT_EQ(log.start_offset(), 40);
  EXPECT_EQ(log.end_offset(), 40);
  EXPECT_EQ(log.flushed_offset(), 40);
  EXPECT_EQ(log.last_fetched_epoch(), 7);
  EXPECT_EQ(log.end_offset_for_epoch(7), (OffsetAndEpoch{40, 7}));
  EXPECT_EQ(log.end_offset_for_epoch(9), (OffsetAndEpoch{40, 7}));
  EXPECT_TRUE(log.batches().empty());
  log.append_as_follower({rec(8, {"g"})});
  EXPECT_EQ(log.batches()[0].base, 40);
  EXPECT_THROW(log.reset_to_snapshot({50, 8}), std::logic_error);  // not stored
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
