#include "samsa/broker/storage.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "samsa/broker/meta_properties.h"
#include "samsa/protocol/uuid.h"

namespace samsa::broker {
namespace {

namespace fs = std::filesystem;

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root = fs::temp_directory_path() / ("samsa-storage-" + std::to_string(::getpid()));
    fs::remove_all(root);
    config = make_config(1);
  }
  void TearDown() override { fs::remove_all(root); }

  BrokerConfig make_config(int node_id) {
    auto props = Properties::parse(
        "process.roles=broker,controller\n"
        "node.id=" + std::to_string(node_id) + "\n"
        "controller.quorum.voters=" + std::to_string(node_id) + "@127.0.0.1:19093\n"
        "listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093\n"
        "controller.listener.names=CONTROLLER\n"
        "log.dirs=" + (root / "a").string() + "," + (root / "b").string() + "\n",
        "test.properties");
    return BrokerConfig::from_properties(std::move(props));
  }

  fs::path root;
  BrokerConfig config;
  std::string cluster = protocol::Uuid::random().to_string();
};

TEST_F(StorageTest, FormatWritesMetaPropertiesEverywhereAndTheCheckpointOnce) {
  auto report = format_storage(config, cluster, false);
  EXPECT_EQ(report.formatted.size(), 2u);
  for (const char* d : {"a", "b"}) {
    auto meta = MetaProperties::read((root / d).string());
    ASSERT_TRUE(meta.has_value());
    EXPECT_EQ(meta->cluster_id, cluster);
    EXPECT_EQ(meta->node_id, 1);
    EXPECT_TRUE(meta->directory_id.has_value());
  }
  EXPECT_TRUE(fs::exists(root / "a" / "bootstrap.checkpoint"));  // metadata.log.dir = first log dir
  EXPECT_FALSE(fs::exists(root / "b" / "bootstrap.checkpoint"));
  auto state = verify_storage(config);
  EXPECT_EQ(state.cluster_id, cluster);
  EXPECT_GT(state.metadata_version, 0);
}

TEST_F(StorageTest, SecondFormatFailsUnlessIgnoringFormattedDirs) {
  format_storage(config, cluster, false);
  try {
    format_storage(config, cluster, false);
    FAIL() << "expected a StorageError";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("already formatted"), std::string::npos);
  }
  EXPECT_TRUE(format_storage(config, cluster, true).formatted.empty());  // nothing left to do is fine
  fs::remove(root / "b" / "meta.properties");
  auto report = format_storage(config, cluster, true);
  EXPECT_EQ(report.formatted, std::vector<std::string>{(root / "b").string()});
  EXPECT_EQ(report.skipped.size(), 1u);
}

TEST_F(StorageTest, InvalidClusterIdIsRejected) {
  EXPECT_THROW(format_storage(config, "not-a-uuid", false), StorageError);
  EXPECT_FALSE(fs::exists(root / "a" / "meta.properties"));
}

TEST_F(StorageTest, StartRefusesUnformattedDirsNamingTheFormatCommand) {
  try {
    verify_storage(config);
    FAIL() << "expected a StorageError";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("storage format"), std::string::npos);
  }
}

TEST_F(StorageTest, StartRefusesClusterIdMismatchBetweenDirs) {
  format_storage(config, cluster, false);
  MetaProperties other = *MetaProperties::read((root / "b").string());
  other.cluster_id = protocol::Uuid::random().to_string();
  other.write((root / "b").string());
  try {
    verify_storage(config);
    FAIL() << "expected a StorageError";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("mismatch"), std::string::npos);
  }
}

TEST_F(StorageTest, StartRefusesANodeIdMismatch) {
  format_storage(config, cluster, false);
  EXPECT_THROW(verify_storage(make_config(2)), StorageError);
}

}  // namespace
}  // namespace samsa::broker
