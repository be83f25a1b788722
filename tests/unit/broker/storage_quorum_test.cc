// `storage format` with the KIP-853 quorum flags: which combinations Kafka
// 4.x refuses, and what lands in the metadata log dir.
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "samsa/broker/meta_properties.h"
#include "samsa/broker/storage.h"
#include "samsa/protocol/uuid.h"
#include "samsa/raft/bootstrap_voters.h"

namespace samsa::broker {
namespace {

namespace fs = std::filesystem;

class StorageQuorumTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root = fs::temp_directory_path() / ("samsa-storage-quorum-" + std::to_string(::getpid()));
    fs::remove_all(root);
  }
  void TearDown() override { fs::remove_all(root); }

  // roles: "broker,controller", "controller" or "broker"; quorum_line is
  // controller.quorum.voters=... or controller.quorum.bootstrap.servers=...
  BrokerConfig make_config(const std::string& roles, const std::string& quorum_line, int node_id = 1) {
    std::string listeners = roles == "broker" ? "PLAINTEXT://127.0.0.1:19092"
                            : roles == "controller"
                                ? "CONTROLLER://127.0.0.1:19093"
                                : "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093";
    auto props = Properties::parse("process.roles=" + roles + "\nnode.id=" + std::to_string(node_id) + "\n" +
                                       quorum_line + "\nlisteners=" + listeners +
                                       "\ncontroller.listener.names=CONTROLLER\n"
                                       "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n"
                                       "log.dirs=" + (root / "a").string() + "," + (root / "b").string() +
                                       "\nmetadata.log.dir=" + (root / "meta").string() + "\n",
                                   "test.properties");
    return BrokerConfig::from_properties(std::move(props));
  }

  FormatRequest request(QuorumBootstrap mode, std::string initial = {}) {
    FormatRequest r;
    r.cluster_id = cluster;
    r.quorum = mode;
    r.initial_controllers = std::move(initial);
    return r;
  }

  std::string error_of(const BrokerConfig& config, const FormatRequest& r) {
    try {
      format_storage(config, r);
    } catch (const StorageError& e) {
      return e.what();
    }
    return "";
  }

  fs::path root;
  std::string cluster = protocol::Uuid::random().to_string();
  const std::string kBootstrap = "controller.quorum.bootstrap.servers=127.0.0.1:19093";
  const std::string kStatic = "controller.quorum.voters=1@127.0.0.1:19093";
  const std::string kThree =
      "1@127.0.0.1:19093:JEXY6aqzQY-32P5TStzaFg,2@127.0.0.1:29093:MvDxzVmcRsaTz33bUuRU6A,"
      "3@127.0.0.1:39093:07R5amHmR32VDA6jHkGbTA";
};

TEST_F(StorageQuorumTest, StandaloneWritesThisControllerAsTheOnlyVoter) {
  auto config = make_config("broker,controller", kBootstrap, 7);
  auto report = format_storage(config, request(QuorumBootstrap::kStandalone));
  EXPECT_EQ(report.kraft_version, 1);
  auto voters = raft::read_bootstrap_voters((root / "meta").string());
  ASSERT_TRUE(voters.has_value());
  EXPECT_EQ(voters->kraft_version, 1);
  ASSERT_EQ(voters->voters.size(), 1u);
  EXPECT_EQ(voters->voters[0].id, 7);
  EXPECT_EQ(voters->voters[0].endpoints, (std::vector<raft::VoterEndpoint>{{"CONTROLLER", "127.0.0.1", 19093}}));
  // The voter's directory id is the metadata dir's directory.id; data dirs get their own.
  auto meta = MetaProperties::read((root / "meta").string());
  ASSERT_TRUE(meta && meta->directory_id);
  EXPECT_EQ(*meta->directory_id, voters->voters[0].directory_id);
  EXPECT_NE(*MetaProperties::read((root / "a").string())->directory_id, voters->voters[0].directory_id);
  EXPECT_FALSE(fs::exists(raft::bootstrap_voters_path((root / "a").string())));
  EXPECT_EQ(verify_storage(config).cluster_id, cluster);  // the node starts on it
}

TEST_F(StorageQuorumTest, InitialControllersGiveEachNodeItsOwnDirectoryId) {
  for (int id : {1, 2, 3}) {
    fs::remove_all(root);
    auto config = make_config("controller", kBootstrap, id);
    auto report = format_storage(config, request(QuorumBootstrap::kInitialControllers, kThree));
    ASSERT_EQ(report.kinds.size(), 3u);
    auto voters = raft::read_bootstrap_voters((root / "meta").string());
    ASSERT_TRUE(voters.has_value());
    ASSERT_EQ(voters->voters.size(), 3u);
    EXPECT_EQ(voters->voters[2].endpoints[0].port, 39093);
    EXPECT_EQ(*MetaProperties::read((root / "meta").string())->directory_id,
              voters->voters[static_cast<size_t>(id - 1)].directory_id);
  }
}

TEST_F(StorageQuorumTest, ABrokerFormattedWithInitialControllersKeepsTheVoterSetButIsNoVoter) {
  auto config = make_config("broker", kBootstrap, 4);
  auto report = format_storage(config, request(QuorumBootstrap::kInitialControllers, kThree));
  EXPECT_NE(std::find(report.kinds.begin(), report.kinds.end(), "dynamic metadata directory"), report.kinds.end());
  auto voters = raft::read_bootstrap_voters((root / "meta").string());
  ASSERT_TRUE(voters.has_value());
  for (const auto& v : voters->voters) EXPECT_NE(*MetaProperties::read((root / "meta").string())->directory_id, v.directory_id);
}

TEST_F(StorageQuorumTest, NoInitialControllersWritesNoVoterSet) {
  auto config = make_config("controller", kBootstrap);
  auto report = format_storage(config, request(QuorumBootstrap::kNoInitialControllers));
  EXPECT_EQ(report.kraft_version, 1);
  EXPECT_FALSE(raft::read_bootstrap_voters((root / "meta").string()).has_value());
  EXPECT_TRUE(fs::exists(root / "meta" / "meta.properties"));
}

TEST_F(StorageQuorumTest, StaticVotersNeedNoFlagAndWriteNoVoterSet) {
  auto config = make_config("broker,controller", kStatic);
  auto report = format_storage(config, request(QuorumBootstrap::kStatic));
  EXPECT_EQ(report.kraft_version, 0);
  EXPECT_FALSE(raft::read_bootstrap_voters((root / "meta").string()).has_value());
}

TEST_F(StorageQuorumTest, KafkasRefusals) {
  // A controller without static voters must say how the quorum starts.
  EXPECT_NE(error_of(make_config("controller", kBootstrap), request(QuorumBootstrap::kStatic))
                .find("you must specify one of the following: --standalone, --initial-controllers, or "
                      "--no-initial-controllers"),
            std::string::npos);
  // A broker-only node needs none.
  EXPECT_EQ(error_of(make_config("broker", kBootstrap), request(QuorumBootstrap::kStatic)), "");
  fs::remove_all(root);
  EXPECT_EQ(error_of(make_config("broker", kBootstrap), request(QuorumBootstrap::kStandalone)),
            "You can only use --standalone on a controller.");
  for (auto mode : {QuorumBootstrap::kStandalone, QuorumBootstrap::kInitialControllers})
    EXPECT_NE(error_of(make_config("broker,controller", kStatic), request(mode, kThree))
                  .find("You cannot specify controller.quorum.voters and format the node with"),
              std::string::npos);
  EXPECT_NE(error_of(make_config("controller", kBootstrap),
                     request(QuorumBootstrap::kInitialControllers, "1@h:1:JEXY6aqzQY-32P5TStzaFg,1@h:2:MvDxzVmcRsaTz33bUuRU6A"))
                .find("more than once"),
            std::string::npos);
  // Nothing was written by the refused attempts.
  EXPECT_FALSE(fs::exists(root / "meta" / "meta.properties"));
}

}  // namespace
}  // namespace samsa::broker
