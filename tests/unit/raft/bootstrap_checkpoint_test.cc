#include "samsa/raft/bootstrap_checkpoint.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "samsa/protocol/record_batch.h"
#include "samsa/util/file_util.h"

namespace samsa::raft {
namespace {

namespace fs = std::filesystem;

class BootstrapCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("samsa-bootstrap-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
};

TEST_F(BootstrapCheckpointTest, RoundTripsTheMetadataVersion) {
  write_bootstrap_checkpoint(dir.string(), BootstrapMetadata{21});
  EXPECT_EQ(read_bootstrap_checkpoint(dir.string()).metadata_version, 21);
}

TEST_F(BootstrapCheckpointTest, RoundTripsEveryFinalizedFeature) {
  BootstrapMetadata written{21, {{"transaction.version", 2}, {"group.version", 1}}};
  write_bootstrap_checkpoint(dir.string(), written);
  auto read = read_bootstrap_checkpoint(dir.string());
  EXPECT_EQ(read.metadata_version, 21);
  EXPECT_EQ(read.features, written.features);
  // One FeatureLevelRecord per feature, metadata.version first.
  auto bytes = util::read_file((dir / kBootstrapCheckpointFile).string());
  auto split = protocol::split_batches(bytes, true);
  ASSERT_EQ(split.batches.size(), 3u);
  EXPECT_EQ(protocol::decode_records(split.batches[1]).size(), 3u);
}

TEST_F(BootstrapCheckpointTest, LevelZeroIsLeftOutAndReadsAsNotFinalized) {
  write_bootstrap_checkpoint(dir.string(), BootstrapMetadata{21, {{"transaction.version", 0}}});
  auto read = read_bootstrap_checkpoint(dir.string());
  EXPECT_TRUE(read.features.empty());
  auto bytes = util::read_file((dir / kBootstrapCheckpointFile).string());
  EXPECT_EQ(protocol::decode_records(protocol::split_batches(bytes, true).batches[1]).size(), 1u);
}

TEST_F(BootstrapCheckpointTest, ACheckpointWithOnlyMetadataVersionHasNoOtherFeatures) {
  // What `storage format` wrote before transaction.version existed: an
  // upgraded cluster keeps the feature at level 0, as Kafka's does.
  write_bootstrap_checkpoint(dir.string(), BootstrapMetadata{17});
  auto read = read_bootstrap_checkpoint(dir.string());
  EXPECT_EQ(read.metadata_version, 17);
  EXPECT_TRUE(read.features.empty());
}

TEST_F(BootstrapCheckpointTest, IsASnapshotOfHeaderDataAndFooterBatches) {
  write_bootstrap_checkpoint(dir.string(), BootstrapMetadata{21});
  auto bytes = util::read_file((dir / kBootstrapCheckpointFile).string());
  auto split = protocol::split_batches(bytes, true);
  ASSERT_EQ(split.batches.size(), 3u);
  EXPECT_TRUE(split.batches[0].header.is_control());
  EXPECT_FALSE(split.batches[1].header.is_control());
  EXPECT_TRUE(split.batches[2].header.is_control());
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(protocol::verify_crc(split.batches[i].bytes));
    EXPECT_EQ(split.batches[i].header.base_offset, static_cast<int64_t>(i));
  }
  // Control record keys: version 0, type 3 (snapshot header) / 4 (footer).
  auto header_records = protocol::decode_records(split.batches[0]);
  ASSERT_EQ(header_records.size(), 1u);
  EXPECT_EQ(*header_records[0].key, (std::vector<uint8_t>{0, 0, 0, 3}));
  auto footer_records = protocol::decode_records(split.batches[2]);
  EXPECT_EQ(*footer_records[0].key, (std::vector<uint8_t>{0, 0, 0, 4}));
}

TEST_F(BootstrapCheckpointTest, MissingOrCorruptFilesAreErrors) {
  EXPECT_THROW(read_bootstrap_checkpoint(dir.string()), std::exception);
  write_bootstrap_checkpoint(dir.string(), BootstrapMetadata{21});
  auto path = (dir / kBootstrapCheckpointFile).string();
  auto bytes = util::read_file(path);
  bytes[bytes.size() / 2] ^= 0xff;
  util::write_file_atomically(path, std::span<const uint8_t>(bytes));
  EXPECT_THROW(read_bootstrap_checkpoint(dir.string()), std::runtime_error);
}

}  // namespace
}  // namespace samsa::raft
