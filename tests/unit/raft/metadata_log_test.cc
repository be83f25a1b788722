#include "samsa/raft/metadata_log.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "samsa/raft/quorum_state.h"
#include "samsa/raft/snapshot_file.h"

namespace samsa::raft {
namespace {

namespace fs = std::filesystem;

class MetadataLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("samsa-mlog-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    options.metadata_dir = dir.string();
    options.node_id = 1;
    options.voters = {1};
    options.config.segment_bytes = 8 << 20;
  }
  void TearDown() override { fs::remove_all(dir); }

  static std::vector<std::vector<uint8_t>> values(int n, uint8_t tag) {
    std::vector<std::vector<uint8_t>> v;
    for (int i = 0; i < n; ++i) v.push_back({tag, static_cast<uint8_t>(i)});
    return v;
  }
  static std::vector<std::vector<uint8_t>> data_values(const MetadataLog& log, int64_t from = 0) {
    std::vector<std::vector<uint8_t>> out;
    log.replay(
        [&](const protocol::BatchView& batch) {
          if (batch.header.is_control()) return;
          for (auto& r : protocol::decode_records(batch)) out.push_back(*r.value);
        },
        from);
    return out;
  }

  fs::path dir;
  MetadataLogOptions options;
};

TEST_F(MetadataLogTest, EachOpenIsANewEpochWithALeaderChangeBatch) {
  {
    auto log = MetadataLog::open(options);
    EXPECT_EQ(log->epoch(), 1);
    EXPECT_EQ(log->end_offset(), 1);  // the LeaderChange control record
    EXPECT_TRUE(log->empty_of_records());
    EXPECT_EQ(log->append(values(3, 7)), 1);
  }
  auto log = MetadataLog::open(options);
  EXPECT_EQ(log->epoch(), 2);
  EXPECT_FALSE(log->empty_of_records());
  EXPECT_EQ(data_values(*log), values(3, 7));
  auto state = QuorumState::read((dir / "__cluster_metadata-0").string());
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->leader_epoch, 2);
  EXPECT_EQ(state->leader_id, 1);
}

TEST_F(MetadataLogTest, SnapshotsReplaceOlderOnesAndBoundReplay) {
  auto log = MetadataLog::open(options);
  log->append(values(2, 1));
  int64_t end = log->end_offset();
  log->write_snapshot({end, log->epoch()}, values(5, 9));
  log->append(values(1, 2));
  log->write_snapshot({log->end_offset(), log->epoch()}, values(6, 9));
  auto latest = log->latest_snapshot();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->end_offset, log->end_offset());
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir / "__cluster_metadata-0"))
    files += e.path().extension() == ".checkpoint";
  EXPECT_EQ(files, 1u);
  std::vector<std::vector<uint8_t>> snap;
  read_snapshot_file(log->snapshot_path(*latest), [&](const protocol::BatchView& batch) {
    for (auto& r : protocol::decode_records(batch)) snap.push_back(*r.value);
  });
  EXPECT_EQ(snap, values(6, 9));
  EXPECT_EQ(data_values(*log, end), values(1, 2));
}

TEST_F(MetadataLogTest, ATruncatedSnapshotIsRejected) {
  auto log = MetadataLog::open(options);
  log->write_snapshot({1, log->epoch()}, values(100, 3));
  auto path = log->snapshot_path(*log->latest_snapshot());
  fs::resize_file(path, fs::file_size(path) - 20);
  EXPECT_THROW(read_snapshot_file(path, [](const protocol::BatchView&) {}), std::runtime_error);
}

}  // namespace
}  // namespace samsa::raft
