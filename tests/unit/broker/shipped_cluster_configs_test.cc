// The multi-node examples in config/ parse with Kafka's rules and describe
// one consistent quorum: every node lists the same voters, and each voter's
// entry is that controller's own CONTROLLER listener.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "samsa/broker/broker_config.h"

namespace samsa::broker {
namespace {

std::optional<std::string> no_env(const char*) { return std::nullopt; }

BrokerConfig load(const std::string& relative) {
  return BrokerConfig::from_properties(Properties::load_file(std::string(SAMSA_SOURCE_DIR "/config/") + relative),
                                       no_env);
}

void expect_one_quorum(const std::vector<BrokerConfig>& nodes) {
  const auto& voters = nodes.front().controller_quorum_voters;
  ASSERT_EQ(voters.size(), 3u);
  std::vector<std::string> dirs;
  for (const auto& c : nodes) {
    ASSERT_EQ(c.controller_quorum_voters.size(), voters.size());
    for (size_t i = 0; i < voters.size(); ++i) {
      EXPECT_EQ(c.controller_quorum_voters[i].id, voters[i].id);
      EXPECT_EQ(c.controller_quorum_voters[i].port, voters[i].port);
    }
    if (c.is_controller()) {
      ASSERT_EQ(c.advertised_controller_listeners.size(), 1u);
      bool listed = false;
      for (const auto& v : voters)
        if (v.id == c.node_id) {
          listed = true;
          EXPECT_EQ(v.port, c.advertised_controller_listeners[0].port) << "node " << c.node_id;
        }
      EXPECT_TRUE(listed) << "controller " << c.node_id << " is not a voter";
    }
    EXPECT_EQ(c.controller_quorum_election_timeout_ms, 1000);  // Kafka's defaults, spelled out
    EXPECT_EQ(c.controller_quorum_fetch_timeout_ms, 2000);
    EXPECT_TRUE(c.ignored_keys().empty()) << "node " << c.node_id;
    for (const auto& d : c.log_dirs) {
      for (const auto& other : dirs) EXPECT_NE(d, other);
      dirs.push_back(d);
    }
  }
}

TEST(ShippedClusterConfigsTest, ThreeCombinedNodes) {
  std::vector<BrokerConfig> nodes;
  std::vector<int> ports;
  for (int i = 1; i <= 3; ++i) {
    nodes.push_back(load("three-nodes/server-" + std::to_string(i) + ".properties"));
    EXPECT_EQ(nodes.back().node_id, i);
    EXPECT_TRUE(nodes.back().is_broker() && nodes.back().is_controller());
    ASSERT_EQ(nodes.back().advertised_listeners.size(), 1u);
    ports.push_back(nodes.back().advertised_listeners[0].port);
    // Replicated internal topics and defaults: any one node may be lost.
    EXPECT_EQ(nodes.back().offsets_topic_replication_factor, 3);
    EXPECT_EQ(nodes.back().transaction_state_log_replication_factor, 3);
    EXPECT_EQ(nodes.back().transaction_state_log_min_isr, 2);
    EXPECT_EQ(nodes.back().default_replication_factor, 3);
    EXPECT_EQ(nodes.back().min_insync_replicas, 2);
  }
  EXPECT_EQ(ports, (std::vector<int>{9092, 9094, 9096}));
  expect_one_quorum(nodes);
}

TEST(ShippedClusterConfigsTest, ThreeControllersAndTwoBrokers) {
  std::vector<BrokerConfig> nodes;
  for (int i = 1; i <= 3; ++i) {
    nodes.push_back(load("split/controller-" + std::to_string(i) + ".properties"));
    EXPECT_TRUE(nodes.back().is_controller() && !nodes.back().is_broker());
  }
  for (int i = 4; i <= 5; ++i) {
    nodes.push_back(load("split/broker-" + std::to_string(i) + ".properties"));
    EXPECT_TRUE(nodes.back().is_broker() && !nodes.back().is_controller());
    EXPECT_EQ(nodes.back().node_id, i);
    EXPECT_EQ(nodes.back().offsets_topic_replication_factor, 2);
    EXPECT_EQ(nodes.back().transaction_state_log_replication_factor, 2);
    EXPECT_EQ(nodes.back().default_replication_factor, 2);
  }
  expect_one_quorum(nodes);
}

}  // namespace
}  // namespace samsa::broker
