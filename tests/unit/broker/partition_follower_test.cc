// replica::Partition, follower side, over a real log::Log in a temp dir:
// replicated appends keep the leader's offsets and epochs, truncation cuts
// the log and its epoch cache, the leader's high watermark and log start
// are taken (capped by what the follower holds).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "samsa/broker/replica/partition.h"
#include "samsa/protocol/record_batch.h"

namespace samsa::broker::replica {
namespace {

std::vector<uint8_t> batch_at(int64_t base, int32_t epoch, int records) {
  protocol::RecordBatchOptions o;
  o.base_offset = base;
  o.partition_leader_epoch = epoch;
  protocol::RecordBatchBuilder b(o);
  std::vector<uint8_t> value(20, 'v');
  for (int i = 0; i < records; ++i) b.append(1000 + i, std::nullopt, value);
  return b.build();
}

class PartitionFollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "samsa-pf-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
    log::LogOpenOptions o;
    o.dir = dir + "/t-0";
    o.tp = {"t", 0};
    o.config.segment_bytes = 4096;
    auto l = log::Log::open(o);
    ASSERT_TRUE(l.ok());
    PartitionHooks hooks;
    hooks.on_progress = [this](const std::string&, int32_t) { ++progress; };
    partition = std::make_unique<Partition>("t", 0, protocol::Uuid{}, l.value(), /*local_broker_id=*/2, hooks);
  }
  void TearDown() override {
    partition->log()->close();
    partition.reset();
    std::filesystem::remove_all(dir);
  }
  void append(int64_t base, int32_t epoch, int records) {
    auto r = partition->append_as_follower(batch_at(base, epoch, records));
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

  std::string dir;
  std::unique_ptr<Partition> partition;
  int progress = 0;
};

TEST_F(PartitionFollowerTest, AppendsKeepTheLeadersOffsetsAndEpochs) {
  EXPECT_FALSE(partition->latest_epoch().has_value());
  append(0, 1, 5);
  append(5, 1, 5);
  append(10, 3, 5);
  EXPECT_EQ(partition->log_end_offset(), 15);
  EXPECT_EQ(partition->latest_epoch(), 3);
  // Kafka's endOffsetFor: the latest epoch ends at the log end; an older
  // one where the next starts; an unknown lower one answers the requested
  // epoch with the first known start; above every known epoch: unknown.
  EXPECT_EQ(partition->end_offset_for_epoch(3), (std::pair<int32_t, int64_t>{3, 15}));
  EXPECT_EQ(partition->end_offset_for_epoch(2), (std::pair<int32_t, int64_t>{1, 10}));
  EXPECT_EQ(partition->end_offset_for_epoch(1), (std::pair<int32_t, int64_t>{1, 10}));
  EXPECT_EQ(partition->end_offset_for_epoch(0), (std::pair<int32_t, int64_t>{0, 0}));
  EXPECT_EQ(partition->end_offset_for_epoch(7), (std::pair<int32_t, int64_t>{-1, -1}));
  // Offsets must go up: a replayed batch is refused.
  EXPECT_FALSE(partition->append_as_follower(batch_at(10, 3, 5)).ok());
}

TEST_F(PartitionFollowerTest, TruncationCutsTheLogAndTheEpochCache) {
  append(0, 1, 5);
  append(5, 2, 5);
  append(10, 2, 5);
  partition->update_from_leader(15, 0);
  ASSERT_EQ(partition->high_watermark(), 15);
  auto r = partition->truncate_to(5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(partition->log_end_offset(), 5);
  EXPECT_EQ(partition->high_watermark(), 5);  // never above the log end
  EXPECT_EQ(partition->latest_epoch(), 1);
  EXPECT_EQ(partition->end_offset_for_epoch(2), (std::pair<int32_t, int64_t>{-1, -1}));
  // The leader's different history from 5 on is accepted after the cut.
  append(5, 4, 3);
  EXPECT_EQ(partition->latest_epoch(), 4);
  EXPECT_EQ(partition->end_offset_for_epoch(3), (std::pair<int32_t, int64_t>{1, 5}));
}

TEST_F(PartitionFollowerTest, HighWatermarkIsTheLeadersCappedByTheLogEnd) {
  append(0, 1, 10);
  progress = 0;
  partition->update_from_leader(25, 0);  // the leader has more than we fetched yet
  EXPECT_EQ(partition->high_watermark(), 10);
  EXPECT_EQ(progress, 1);
  partition->update_from_leader(4, 0);  // a new leader that has not learnt it yet
  EXPECT_EQ(partition->high_watermark(), 4);
  partition->update_from_leader(4, 0);
  EXPECT_EQ(progress, 2);  // no move, no wake-up
}

TEST_F(PartitionFollowerTest, LeaderLogStartMovesOursUpToOurHighWatermark) {
  for (int i = 0; i < 40; ++i) append(i * 5, 1, 5);
  ASSERT_GE(partition->log()->segment_base_offsets().size(), 2u);
  partition->update_from_leader(100, 120);  // leader's start above our HWM: only up to the HWM
  EXPECT_EQ(partition->log_start_offset(), 100);
  partition->update_from_leader(200, 150);
  EXPECT_EQ(partition->log_start_offset(), 150);
  EXPECT_GT(partition->log()->segment_base_offsets().front(), 0);
  partition->update_from_leader(200, 20);  // never down
  EXPECT_EQ(partition->log_start_offset(), 150);
}

TEST_F(PartitionFollowerTest, TruncateFullyStartsAtTheLeadersLogStart) {
  append(0, 1, 5);
  progress = 0;
  auto r = partition->truncate_fully_and_start_at(1000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(partition->log_start_offset(), 1000);
  EXPECT_EQ(partition->log_end_offset(), 1000);
  EXPECT_EQ(partition->high_watermark(), 1000);
  EXPECT_FALSE(partition->latest_epoch().has_value());
  EXPECT_EQ(progress, 1);
  append(1000, 6, 2);
  EXPECT_EQ(partition->log_end_offset(), 1002);
}

}  // namespace
}  // namespace samsa::broker::replica
