// replica_fetcher_options: the replica.fetch.* keys reach the fetcher, and
// the broker epoch and leader endpoints come from the current image.
#include <gtest/gtest.h>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/metadata_image.h"
#include "samsa/broker/replica/replica_fetcher_config.h"
#include "single_node_env.h"

namespace samsa::broker::replica {
namespace {

TEST(ReplicaFetcherConfig, KeysAndImage) {
  auto defaults = test_env::single_node_config("/tmp/unused");
  EXPECT_EQ(defaults.num_replica_fetchers, 1);
  EXPECT_EQ(defaults.replica_fetch_backoff_ms, 1000);
  EXPECT_EQ(defaults.replica_fetch_response_max_bytes, 10485760);

  auto config = test_env::single_node_config(
      "/tmp/unused", "num.replica.fetchers=3\nreplica.fetch.backoff.ms=250\nreplica.fetch.wait.max.ms=200\n"
                     "replica.fetch.min.bytes=10\nreplica.fetch.max.bytes=2048\nreplica.fetch.response.max.bytes=8192\n"
                     "replica.socket.timeout.ms=9000\nbroker.rack=r1\n");
  auto image = std::make_shared<MetadataImage>();
  BrokerRegistration self;
  self.id = 1;
  self.epoch = 42;
  image->brokers[1] = self;
  BrokerRegistration leader;
  leader.id = 2;
  leader.endpoints = {{"CONTROLLER", "h", 9, "PLAINTEXT"}, {config.inter_broker_listener_name, "leader-host", 19092, "PLAINTEXT"}};
  image->brokers[2] = leader;
  BrokerRegistration fenced = leader;
  fenced.id = 3;
  fenced.fenced = true;
  image->brokers[3] = fenced;

  auto o = replica_fetcher_options(config, 1, [image] { return image; }, nullptr);
  EXPECT_EQ(o.broker_id, 1);
  EXPECT_EQ(o.num_fetchers, 3);
  EXPECT_EQ(o.backoff_ms, 250);
  EXPECT_EQ(o.fetch_max_wait_ms, 200);
  EXPECT_EQ(o.fetch_min_bytes, 10);
  EXPECT_EQ(o.partition_max_bytes, 2048);
  EXPECT_EQ(o.fetch_max_bytes, 8192);
  EXPECT_EQ(o.socket_timeout_ms, 9000);
  EXPECT_EQ(o.rack, std::optional<std::string>("r1"));
  EXPECT_EQ(o.broker_epoch(), 42);
  EXPECT_EQ(o.endpoint(2), std::make_optional(std::make_pair(std::string("leader-host"), uint16_t{19092})));
  EXPECT_EQ(o.endpoint(3), std::nullopt);  // fenced
  EXPECT_EQ(o.endpoint(4), std::nullopt);  // not registered
}

}  // namespace
}  // namespace samsa::broker::replica
