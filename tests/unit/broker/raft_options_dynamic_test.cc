// server.properties -> RaftManagerOptions for a dynamic quorum (KIP-853):
// no controller.quorum.voters, only controller.quorum.bootstrap.servers.
#include <gtest/gtest.h>

#include "samsa/broker/raft_options.h"

namespace samsa::broker {
namespace {

std::optional<std::string> no_env(const char*) { return std::nullopt; }

TEST(RaftOptionsDynamicTest, BootstrapServersMakeAKRaftVersion1NodeThatAsksThem) {
  auto config = BrokerConfig::from_properties(
      Properties::parse("process.roles=controller\n"
                        "node.id=2\n"
                        "controller.quorum.bootstrap.servers=host-a:9093,host-b:9094\n"
                        "listeners=CONTROLLER://:9094\n"
                        "controller.listener.names=CONTROLLER\n"
                        "metadata.log.dir=/tmp/meta\n",
                        "server.properties"),
      no_env);
  auto o = raft_manager_options(config, "abc");
  EXPECT_EQ(o.raft.kraft_version, 1);
  EXPECT_TRUE(o.raft.voters.empty());
  EXPECT_EQ(o.raft.bootstrap_ids, (std::vector<raft::NodeId>{-2, -3}));
  EXPECT_EQ(o.voter_endpoints.at(-2), (net::Endpoint{"host-a", 9093}));
  EXPECT_EQ(o.voter_endpoints.at(-3), (net::Endpoint{"host-b", 9094}));
}

TEST(RaftOptionsDynamicTest, StaticVotersStayKRaftVersion0) {
  auto config = BrokerConfig::from_properties(
      Properties::parse("process.roles=controller\n"
                        "node.id=1\n"
                        "controller.quorum.voters=1@host-a:9093\n"
                        "listeners=CONTROLLER://:9093\n"
                        "controller.listener.names=CONTROLLER\n"
                        "metadata.log.dir=/tmp/meta\n",
                        "server.properties"),
      no_env);
  auto o = raft_manager_options(config, "abc");
  EXPECT_EQ(o.raft.kraft_version, 0);
  EXPECT_TRUE(o.raft.bootstrap_ids.empty());
}

}  // namespace
}  // namespace samsa::broker
