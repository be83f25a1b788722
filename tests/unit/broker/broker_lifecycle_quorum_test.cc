// BrokerLifecycleService over the real QuorumController and MetadataLoader
// (a fake MetadataRaft underneath): the broker epoch is the committed offset
// of the RegisterBrokerRecord, only the leader answers, and a controller
// that becomes active again starts fresh sessions.
#include <gtest/gtest.h>

#include <chrono>

#include "fake_metadata_raft.h"
#include "samsa/broker/broker_lifecycle_service.h"
#include "samsa/broker/features.h"
#include "samsa/broker/metadata/metadata_loader.h"
#include "samsa/broker/quorum_controller.h"
#include "samsa/protocol/error_code.h"

namespace samsa::broker {
namespace {

using namespace std::chrono_literals;
using protocol::ErrorCode;

class BrokerLifecycleQuorumTest : public ::testing::Test {
 protected:
  BrokerLifecycleQuorumTest()
      : raft(1),
        loader(cache, std::make_shared<MetadataImage>(), {.node_id = 1}),
        controller(raft, loader, cache, metadata::ControllerDefaults{},
                   {.bootstrap_metadata_version = kLatestMetadataVersion, .commit_timeout = 2000ms}) {
    raft.register_listener(&loader);
    BrokerLifecycleService::Options options;
    options.session_timeout_ms = 9000;
    options.active_epoch = [this] { return loader.active_epoch(); };
    options.next_offset = [this](const MetadataImage&) { return controller.next_offset(); };
    options.now_ms = [this] { return now; };
    lifecycle = std::make_unique<BrokerLifecycleService>(controller, options);
  }
  void elect(raft::LeaderAndEpoch leader) {
    raft.elect(leader);
    raft.drain();
  }
  metadata::BrokerRegistrationInput registration(int32_t id) {
    metadata::BrokerRegistrationInput in;
    in.broker_id = id;
    in.incarnation_id = protocol::Uuid::random();
    in.listeners = {{"PLAINTEXT", "127.0.0.1", static_cast<uint16_t>(9090 + id), "PLAINTEXT"}};
    for (const auto& f : supported_features()) in.features.push_back({f.name, {f.min_level, f.max_level}});
    in.log_dirs = {protocol::Uuid::random()};
    return in;
  }

  int64_t now = 0;
  MetadataCache cache;
  test::FakeMetadataRaft raft;
  metadata::MetadataLoader loader;
  QuorumController controller;
  std::unique_ptr<BrokerLifecycleService> lifecycle;
};

TEST_F(BrokerLifecycleQuorumTest, EpochIsTheRegistrationsCommittedOffsetAndOnlyTheLeaderAnswers) {
  EXPECT_EQ(lifecycle->register_broker(registration(4)).error.code, ErrorCode::NOT_CONTROLLER);
  elect({1, 5});
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const MetadataImage>>(controller.ensure_bootstrapped()));

  auto reply = lifecycle->register_broker(registration(4));
  ASSERT_TRUE(reply.error.ok()) << reply.error.message;
  ASSERT_FALSE(raft.appended.empty());
  EXPECT_EQ(reply.broker_epoch, raft.appended.back().last_offset) << "the RegisterBrokerRecord's own offset";
  EXPECT_EQ(cache.current()->brokers.at(4).epoch, reply.broker_epoch);

  auto hb = lifecycle->heartbeat({4, reply.broker_epoch, cache.current()->offset, false, false});
  ASSERT_TRUE(hb.error.ok());
  EXPECT_FALSE(hb.is_fenced);
  EXPECT_FALSE(cache.current()->brokers.at(4).fenced);

  // Another node leads epoch 6: this one answers NOT_CONTROLLER and fences nobody.
  elect({2, 6});
  now += 60'000;
  EXPECT_EQ(lifecycle->heartbeat({4, reply.broker_epoch, 0, false, false}).error.code, ErrorCode::NOT_CONTROLLER);
  EXPECT_TRUE(lifecycle->fence_expired_sessions().empty());

  // Active again in epoch 7: a full session for broker 4 from now on.
  elect({1, 7});
  EXPECT_TRUE(lifecycle->fence_expired_sessions().empty());
  EXPECT_FALSE(cache.current()->brokers.at(4).fenced);
  now += 9001;
  EXPECT_EQ(lifecycle->fence_expired_sessions(), (std::vector<int32_t>{4}));
  EXPECT_TRUE(cache.current()->brokers.at(4).fenced);
}

}  // namespace
}  // namespace samsa::broker
