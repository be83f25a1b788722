// Without controller.quorum.voters, the voters come from the bootstrap
// snapshot `storage format --standalone / --initial-controllers` wrote.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "samsa/broker/raft_options.h"
#include "samsa/raft/bootstrap_voters.h"

namespace samsa::broker {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> no_env(const char*) { return std::nullopt; }

TEST(RaftOptionsBootstrapTest, DynamicQuorumTakesTheFormattedVoters) {
  fs::path dir = fs::temp_directory_path() / ("samsa-raft-options-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto config = BrokerConfig::from_properties(
      Properties::parse("process.roles=controller\n"
                        "node.id=2\n"
                        "controller.quorum.bootstrap.servers=host-a:9093\n"
                        "listeners=CONTROLLER://:9094\n"
                        "controller.listener.names=CONTROLLER\n"
                        "metadata.log.dir=" + dir.string() + "\n",
                        "server.properties"),
      no_env);
  // --no-initial-controllers: nothing to read, no voters known yet.
  EXPECT_TRUE(raft_manager_options(config, "abc").raft.voters.empty());

  raft::BootstrapVoters voters;
  voters.voters = raft::parse_initial_controllers(
      "1@host-a:9093:JEXY6aqzQY-32P5TStzaFg,2@host-b:9094:MvDxzVmcRsaTz33bUuRU6A", "CONTROLLER");
  raft::write_bootstrap_voters(dir.string(), voters);
  auto o = raft_manager_options(config, "abc");
  EXPECT_EQ(o.raft.voters, (std::vector<raft::NodeId>{1, 2}));
  EXPECT_TRUE(o.raft.is_voter(2));
  EXPECT_EQ(o.voter_endpoints.at(1), (net::Endpoint{"host-a", 9093}));
  EXPECT_EQ(o.voter_endpoints.at(2), (net::Endpoint{"host-b", 9094}));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace samsa::broker
