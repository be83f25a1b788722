// BrokerLifecycleService over the real QuorumController and MetadataLoader
// (a fake MetadataRaft underneath): the broker epoch is the committed offset
// of the RegisterBrokerRecord, only the leader answers, and a controller
// that becomes active again starts fresh sessions.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "fake_metadata_raft.h"
#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_lifecycle_options.h"
#include "samsa/broker/broker_lifecycle_service.h"
#include "samsa/broker/properties.h"
#include "samsa/broker/scheduler.h"
#include "samsa/protocol/gen/broker_heartbeat_request.h"
#include "samsa/protocol/gen/broker_heartbeat_response.h"
#include "samsa/protocol/gen/broker_registration_request.h"
#include "samsa/protocol/gen/broker_registration_response.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"
#include "samsa/broker/features.h"
#include "samsa/broker/meta_properties.h"
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

  // A second process with the same id while the first heartbeats: refused.
  EXPECT_EQ(lifecycle->register_broker(registration(4)).error.code, ErrorCode::DUPLICATE_BROKER_REGISTRATION);

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

TEST_F(BrokerLifecycleQuorumTest, ARestartedBrokerRegistersAtOnceWithANewController) {
  elect({1, 5});
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const MetadataImage>>(controller.ensure_bootstrapped()));
  auto first = lifecycle->register_broker(registration(4));
  ASSERT_TRUE(first.error.ok());
  ASSERT_FALSE(lifecycle->heartbeat({4, first.broker_epoch, cache.current()->offset, false, false}).is_fenced);
  // The node crashes and its controller role comes back as leader of epoch 7
  // (as a single combined node does): the old incarnation's session is only
  // presumed, so the new incarnation registers without waiting it out.
  elect({1, 7});
  auto second = lifecycle->register_broker(registration(4));
  ASSERT_TRUE(second.error.ok()) << second.error.message;
  EXPECT_GT(second.broker_epoch, first.broker_epoch);
  EXPECT_TRUE(cache.current()->brokers.at(4).fenced);  // until its heartbeat shows it caught up
}

// Hands the broker's requests straight to the controller's service.
class DirectChannel : public ControllerChannel {
 public:
  explicit DirectChannel(BrokerLifecycleService& service) : service_(service) {}
  void send(int16_t api_key, int16_t version, std::vector<uint8_t> body, std::chrono::milliseconds, IsNotController,
            OnResponse on_response) override {
    protocol::WireReader in(body);
    protocol::WireWriter out;
    if (api_key == protocol::BrokerRegistrationRequest::kApiKey) {
      protocol::BrokerRegistrationRequest r;
      r.decode(in, version);
      metadata::BrokerRegistrationInput input;
      input.broker_id = r.broker_id;
      input.cluster_id = r.cluster_id;
      input.incarnation_id = r.incarnation_id;
      for (const auto& l : r.listeners)
        input.listeners.push_back({l.name, l.host, l.port, metadata::security_protocol_name(l.security_protocol)});
      for (const auto& f : r.features)
        input.features.push_back({f.name, {f.min_supported_version, f.max_supported_version}});
      input.log_dirs = r.log_dirs;
      auto reply = service_.register_broker(input);
      protocol::BrokerRegistrationResponse response;
      response.error_code = protocol::code(reply.error.code);
      response.broker_epoch = reply.broker_epoch;
      response.encode(out, version);
    } else {
      protocol::BrokerHeartbeatRequest r;
      r.decode(in, version);
      auto reply = service_.heartbeat(
          {r.broker_id, r.broker_epoch, r.current_metadata_offset, r.want_fence, r.want_shut_down});
      protocol::BrokerHeartbeatResponse response;
      response.error_code = protocol::code(reply.error.code);
      response.is_fenced = reply.is_fenced;
      response.is_caught_up = reply.is_caught_up;
      response.should_shut_down = reply.should_shut_down;
      response.encode(out, version);
    }
    on_response(out.take());
  }

 private:
  BrokerLifecycleService& service_;
};

TEST_F(BrokerLifecycleQuorumTest, BothSidesFromServerPropertiesOverTheRealController) {
  // A formatted log dir: its directory.id is registered (required at this metadata.version).
  auto dir = std::filesystem::temp_directory_path() / ("samsa-lifecycle-" + protocol::Uuid::random().to_string());
  std::filesystem::create_directories(dir);
  MetaProperties meta;
  meta.cluster_id = "cluster";
  meta.node_id = 1;
  meta.directory_id = protocol::Uuid::random();
  meta.write(dir.string());
  std::string props =
      "process.roles=broker,controller\n"
      "node.id=1\n"
      "controller.quorum.voters=1@localhost:9093\n"
      "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n"
      "controller.listener.names=CONTROLLER\n"
      "broker.heartbeat.interval.ms=20\n"
      "broker.session.timeout.ms=2000\n"
      "log.dirs=" + dir.string() + "\n";
  auto config = BrokerConfig::from_properties(Properties::parse(props, "server.properties"),
                                              [](const char*) -> std::optional<std::string> { return std::nullopt; });
  elect({1, 3});
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const MetadataImage>>(controller.ensure_bootstrapped()));
  auto service = make_broker_lifecycle_service(config, controller, loader);
  DirectChannel channel(*service);
  Scheduler scheduler;
  auto broker = make_broker_lifecycle_manager(config, cache.current()->cluster_id, channel, scheduler, cache);
  broker->start();
  ASSERT_TRUE(broker->wait_until_unfenced(5s));
  EXPECT_EQ(cache.current()->brokers.at(1).epoch, broker->broker_epoch());
  EXPECT_FALSE(cache.current()->brokers.at(1).fenced);
  EXPECT_EQ(cache.current()->brokers.at(1).endpoints.at(0).port, 9092);
  EXPECT_TRUE(broker->controlled_shutdown(5s));
  EXPECT_TRUE(cache.current()->brokers.at(1).fenced);
  EXPECT_EQ(cache.current()->brokers.at(1).log_dirs, std::vector<protocol::Uuid>{*meta.directory_id});
  broker.reset();
  scheduler.stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace samsa::broker
