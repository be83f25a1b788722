// `storage format --feature name=level` (kafka-storage.sh's flag): the
// levels a new cluster starts from, what reaches bootstrap.checkpoint and
// what verify_storage reads back.
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "samsa/broker/features.h"
#include "samsa/broker/storage.h"
#include "samsa/raft/bootstrap_checkpoint.h"

namespace samsa::broker {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::vector<std::string>& flags) {
  try {
    bootstrap_metadata_for(flags);
  } catch (const StorageError& e) {
    return e.what();
  }
  return "";
}

TEST(FormatFeaturesTest, ANewClusterGetsEveryFeatureAtItsLatestLevel) {
  auto b = bootstrap_metadata_for({});
  EXPECT_EQ(b.metadata_version, kLatestMetadataVersion);
  EXPECT_EQ(b.features, (std::map<std::string, int16_t>{{"transaction.version", 2}}));
}

TEST(FormatFeaturesTest, FlagsOverrideTheDefaults) {
  EXPECT_TRUE(bootstrap_metadata_for({"transaction.version=0"}).features.empty());
  EXPECT_EQ(bootstrap_metadata_for({"transaction.version=1"}).features.at("transaction.version"), 1);
  auto b = bootstrap_metadata_for({"metadata.version=17", "transaction.version=2"});
  EXPECT_EQ(b.metadata_version, 17);
  EXPECT_EQ(b.features.at("transaction.version"), 2);
}

TEST(FormatFeaturesTest, BadFlagsAreRefusedNamingTheProblem) {
  EXPECT_NE(error_of({"no.such.feature=1"}).find("Unsupported feature: no.such.feature"), std::string::npos);
  EXPECT_NE(error_of({"transaction.version=3"}).find("Unsupported level 3 for feature transaction.version"),
            std::string::npos);
  EXPECT_NE(error_of({"transaction.version=-1"}).find("transaction.version"), std::string::npos);
  EXPECT_NE(error_of({"metadata.version=6"}).find("metadata.version"), std::string::npos);
  EXPECT_NE(error_of({"metadata.version=22"}).find("metadata.version"), std::string::npos);
  EXPECT_NE(error_of({"transaction.version"}).find("expected name=level"), std::string::npos);
  EXPECT_NE(error_of({"transaction.version=two"}).find("not a number"), std::string::npos);
  EXPECT_NE(error_of({"transaction.version=1", "transaction.version=2"}).find("more than once"), std::string::npos);
}

TEST(FormatFeaturesTest, ReleaseVersionFormatsAsThatKafkaRelease) {
  EXPECT_EQ(metadata_version_of_release("3.3"), 7);
  EXPECT_EQ(metadata_version_of_release("3.7"), 19);  // its last metadata version, 3.7-IV4
  EXPECT_EQ(metadata_version_of_release("3.5-IV1"), 10);
  EXPECT_EQ(metadata_version_of_release("3.9"), kLatestMetadataVersion);
  EXPECT_EQ(metadata_version_of_release("3.2"), std::nullopt);
  EXPECT_EQ(metadata_version_of_release("4.0"), std::nullopt);
  auto b = bootstrap_metadata_for({}, "3.8");
  EXPECT_EQ(b.metadata_version, 20);
  EXPECT_TRUE(b.features.empty());  // transaction.version needs 4.0 in Kafka
  EXPECT_EQ(bootstrap_metadata_for({"transaction.version=1"}, "3.9").features.at("transaction.version"), 1);
  std::string error;
  try {
    bootstrap_metadata_for({}, "9.9");
  } catch (const StorageError& e) {
    error = e.what();
  }
  EXPECT_NE(error.find("Unknown release version 9.9"), std::string::npos);
  EXPECT_THROW(bootstrap_metadata_for({"metadata.version=20"}, "3.9"), StorageError);
}

class FormatFeaturesStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root = fs::temp_directory_path() / ("samsa-format-features-" + std::to_string(::getpid()));
    fs::remove_all(root);
    auto props = Properties::parse("process.roles=broker,controller\nnode.id=1\n"
                                   "controller.quorum.voters=1@127.0.0.1:19093\n"
                                   "listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093\n"
                                   "controller.listener.names=CONTROLLER\n"
                                   "log.dirs=" + (root / "data").string() + "\n",
                                   "test.properties");
    config = BrokerConfig::from_properties(std::move(props));
  }
  void TearDown() override { fs::remove_all(root); }
  fs::path root;
  BrokerConfig config;
  const std::string cluster = "HevfdPNPTNuKi0P2-qq7VQ";
};

TEST_F(FormatFeaturesStorageTest, TheCheckpointCarriesTheFeaturesAndVerifyReadsThem) {
  FormatRequest r;
  r.cluster_id = cluster;
  auto report = format_storage(config, r);
  EXPECT_EQ(report.features.at("transaction.version"), 2);
  auto state = verify_storage(config);
  EXPECT_EQ(state.metadata_version, kLatestMetadataVersion);
  EXPECT_EQ(state.features, (std::map<std::string, int16_t>{{"transaction.version", 2}}));
}

TEST_F(FormatFeaturesStorageTest, FormattedOffTheFeatureIsNotInTheCheckpoint) {
  FormatRequest r;
  r.cluster_id = cluster;
  r.features = {"transaction.version=0"};
  format_storage(config, r);
  EXPECT_TRUE(verify_storage(config).features.empty());
  EXPECT_TRUE(raft::read_bootstrap_checkpoint(config.metadata_log_dir).features.empty());
}

TEST_F(FormatFeaturesStorageTest, ABadFlagFormatsNothing) {
  FormatRequest r;
  r.cluster_id = cluster;
  r.features = {"transaction.version=9"};
  EXPECT_THROW(format_storage(config, r), StorageError);
  EXPECT_FALSE(fs::exists(root / "data" / "meta.properties"));
}

}  // namespace
}  // namespace samsa::broker
