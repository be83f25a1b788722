// server.properties -> RaftManagerOptions.
#include "samsa/broker/raft_options.h"

#include <gtest/gtest.h>

namespace samsa::broker {
namespace {

std::optional<std::string> no_env(const char*) { return std::nullopt; }

TEST(RaftOptionsTest, QuorumKeysReachTheRaftClient) {
  auto config = BrokerConfig::from_properties(
      Properties::parse("process.roles=broker,controller\n"
                        "node.id=2\n"
                        "controller.quorum.voters=1@host-a:9093,2@host-b:9094,3@host-c:9095\n"
                        "listeners=PLAINTEXT://:9092,CTRL://:9094\n"
                        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CTRL:PLAINTEXT\n"
                        "controller.listener.names=CTRL\n"
                        "controller.quorum.election.timeout.ms=700\n"
                        "controller.quorum.election.backoff.max.ms=900\n"
                        "controller.quorum.fetch.timeout.ms=1500\n"
                        "controller.quorum.request.timeout.ms=1800\n"
                        "controller.quorum.retry.backoff.ms=30\n"
                        "metadata.log.dir=/tmp/meta\n"
                        "metadata.log.segment.bytes=8388608\n",
                        "server.properties"),
      no_env);
  auto o = raft_manager_options(config, "abc");
  EXPECT_EQ(o.raft.node_id, 2);
  EXPECT_EQ(o.raft.voters, (std::vector<raft::NodeId>{1, 2, 3}));
  EXPECT_TRUE(o.raft.is_voter(2));
  EXPECT_EQ(o.voter_endpoints.at(3), (net::Endpoint{"host-c", 9095}));
  EXPECT_EQ(o.raft.election_timeout_ms, 700);
  EXPECT_EQ(o.raft.election_backoff_max_ms, 900);
  EXPECT_EQ(o.raft.fetch_timeout_ms, 1500);
  EXPECT_EQ(o.raft.request_timeout_ms, 1800);
  EXPECT_EQ(o.raft.retry_backoff_ms, 30);
  EXPECT_EQ(o.raft.fetch_max_wait_ms, 500);
  EXPECT_EQ(o.cluster_id, std::optional<std::string>("abc"));
  EXPECT_EQ(o.controller_listener_name, "CTRL");  // DescribeQuorum v2 names it
  EXPECT_EQ(o.metadata_dir, "/tmp/meta");
  EXPECT_EQ(o.log_config.segment_bytes, 8388608);
}

TEST(RaftOptionsTest, ShortTimeoutsShortenTheFetchLongPoll) {
  auto config = BrokerConfig::from_properties(
      Properties::parse("process.roles=broker,controller\n"
                        "node.id=1\n"
                        "controller.quorum.voters=1@localhost:9093\n"
                        "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\n"
                        "controller.listener.names=CONTROLLER\n"
                        "controller.quorum.fetch.timeout.ms=400\n"
                        "controller.quorum.request.timeout.ms=600\n",
                        "server.properties"),
      no_env);
  EXPECT_EQ(raft_manager_options(config, "").raft.fetch_max_wait_ms, 200);
  EXPECT_FALSE(raft_manager_options(config, "").cluster_id.has_value());
}

TEST(RaftOptionsTest, BrokerOnlyNodeIsAnObserver) {
  auto config = BrokerConfig::from_properties(
      Properties::parse("process.roles=broker\n"
                        "node.id=7\n"
                        "controller.quorum.voters=1@host-a:9093\n"
                        "listeners=PLAINTEXT://:9092\n"
                        "controller.listener.names=CONTROLLER\n",
                        "server.properties"),
      no_env);
  auto o = raft_manager_options(config, "abc");
  EXPECT_FALSE(o.raft.is_voter(7));
  EXPECT_LT(o.raft.fetch_max_wait_ms, o.raft.request_timeout_ms);
  EXPECT_EQ(o.voter_endpoints.size(), 1u);
}

}  // namespace
}  // namespace samsa::broker
