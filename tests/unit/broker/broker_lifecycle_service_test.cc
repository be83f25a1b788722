// The controller side of KIP-631 through the request handlers:
// BrokerRegistration and BrokerHeartbeat error codes, unfencing, session
// expiry on a fake clock, and fresh sessions when a controller takes over.
#include "samsa/broker/broker_lifecycle_service.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "admin_test_fixture.h"
#include "samsa/broker/broker_lifecycle_manager.h"
#include "samsa/broker/broker_lifecycle_options.h"
#include "samsa/broker/features.h"
#include "samsa/broker/scheduler.h"
#include "samsa/util/serial_executor.h"
#include "samsa/protocol/gen/broker_heartbeat_request.h"
#include "samsa/protocol/gen/broker_heartbeat_response.h"
#include "samsa/protocol/gen/broker_registration_request.h"
#include "samsa/protocol/gen/broker_registration_response.h"

namespace samsa::broker::test {
namespace {

using protocol::BrokerHeartbeatRequest;
using protocol::BrokerHeartbeatResponse;
using protocol::BrokerRegistrationRequest;
using protocol::BrokerRegistrationResponse;
using protocol::ErrorCode;

constexpr int16_t kRegistration = 62;
constexpr int16_t kHeartbeat = 63;

class BrokerLifecycleServiceTest : public AdminTest {
 protected:
  BrokerLifecycleServiceTest() {
    BrokerLifecycleService::Options options;
    options.session_timeout_ms = 9000;
    options.now_ms = [this] { return now; };
    options.active_epoch = [this] { return active_epoch; };
    lifecycle = std::make_unique<BrokerLifecycleService>(controller, options);
    services.broker_lifecycle = lifecycle.get();
  }

  BrokerRegistrationRequest registration(int32_t id, protocol::Uuid incarnation = protocol::Uuid::random()) {
    BrokerRegistrationRequest r;
    r.broker_id = id;
    r.cluster_id = image()->cluster_id;
    r.incarnation_id = incarnation;
    BrokerRegistrationRequest::Listener l;
    l.name = "PLAINTEXT";
    l.host = "127.0.0.1";
    l.port = static_cast<uint16_t>(9090 + id);
    l.security_protocol = 0;
    r.listeners.push_back(l);
    for (const auto& f : supported_features()) {
      BrokerRegistrationRequest::Feature feature;
      feature.name = f.name;
      feature.min_supported_version = f.min_level;
      feature.max_supported_version = f.max_level;
      r.features.push_back(feature);
    }
    r.rack = "rack-a";
    r.log_dirs = {protocol::Uuid::random()};
    return r;
  }

  BrokerRegistrationResponse register_(const BrokerRegistrationRequest& r, int16_t version = 4) {
    return call<BrokerRegistrationResponse>(kRegistration, version, r, ListenerKind::kController);
  }
  BrokerHeartbeatResponse heartbeat(int32_t id, int64_t epoch, int64_t offset, bool want_fence = false,
                                    bool want_shut_down = false) {
    BrokerHeartbeatRequest r;
    r.broker_id = id;
    r.broker_epoch = epoch;
    r.current_metadata_offset = offset;
    r.want_fence = want_fence;
    r.want_shut_down = want_shut_down;
    return call<BrokerHeartbeatResponse>(kHeartbeat, 1, r, ListenerKind::kController);
  }

  int64_t now = 1'000'000;
  std::optional<int32_t> active_epoch = 1;
  std::unique_ptr<BrokerLifecycleService> lifecycle;
};

TEST_F(BrokerLifecycleServiceTest, RegistersThenUnfencesOnceCaughtUp) {
  auto request = registration(4);
  auto reply = register_(request);
  ASSERT_EQ(reply.error_code, 0);
  const int64_t epoch = reply.broker_epoch;
  ASSERT_GE(epoch, 0);
  const BrokerRegistration& b = image()->brokers.at(4);
  EXPECT_EQ(b.epoch, epoch);
  EXPECT_TRUE(b.fenced);
  EXPECT_EQ(b.rack, "rack-a");
  ASSERT_EQ(b.endpoints.size(), 1u);
  EXPECT_EQ(b.endpoints[0].port, 9094);
  EXPECT_EQ(b.endpoints[0].security_protocol, "PLAINTEXT");

  // The same incarnation again (a lost answer): same epoch, nothing written.
  int commits = controller.commits;
  auto again = register_(request, 0);
  EXPECT_EQ(again.error_code, 0);
  EXPECT_EQ(again.broker_epoch, epoch);
  EXPECT_EQ(controller.commits, commits);

  auto behind = heartbeat(4, epoch, epoch - 1);
  EXPECT_EQ(behind.error_code, 0);
  EXPECT_TRUE(behind.is_fenced);
  EXPECT_FALSE(behind.is_caught_up);
  auto caught_up = heartbeat(4, epoch, epoch);
  EXPECT_EQ(caught_up.error_code, 0);
  EXPECT_FALSE(caught_up.is_fenced);
  EXPECT_TRUE(caught_up.is_caught_up);
  EXPECT_FALSE(image()->brokers.at(4).fenced);
}

TEST_F(BrokerLifecycleServiceTest, ErrorCodes) {
  auto first = register_(registration(4));
  ASSERT_EQ(first.error_code, 0);
  ASSERT_EQ(heartbeat(4, first.broker_epoch, first.broker_epoch).is_fenced, false);

  // Another incarnation while the first one's session lives.
  EXPECT_EQ(register_(registration(4)).error_code, protocol::code(ErrorCode::DUPLICATE_BROKER_REGISTRATION));
  auto wrong_cluster = registration(5);
  wrong_cluster.cluster_id = "another-cluster";
  EXPECT_EQ(register_(wrong_cluster).error_code, protocol::code(ErrorCode::INCONSISTENT_CLUSTER_ID));
  auto no_mv = registration(5);
  no_mv.features.clear();
  EXPECT_EQ(register_(no_mv).error_code, protocol::code(ErrorCode::UNSUPPORTED_VERSION));

  EXPECT_EQ(heartbeat(9, 1, 0).error_code, protocol::code(ErrorCode::BROKER_ID_NOT_REGISTERED));
  auto stale = heartbeat(4, first.broker_epoch - 1, 100);
  EXPECT_EQ(stale.error_code, protocol::code(ErrorCode::STALE_BROKER_EPOCH));
  EXPECT_TRUE(stale.is_fenced);

  // Not the active controller (a standby, or no controller role at all).
  active_epoch.reset();
  EXPECT_EQ(register_(registration(5)).error_code, protocol::code(ErrorCode::NOT_CONTROLLER));
  EXPECT_EQ(heartbeat(4, first.broker_epoch, 100).error_code, protocol::code(ErrorCode::NOT_CONTROLLER));
  EXPECT_TRUE(lifecycle->fence_expired_sessions().empty());
  services.broker_lifecycle = nullptr;
  EXPECT_EQ(register_(registration(5)).error_code, protocol::code(ErrorCode::NOT_CONTROLLER));
  EXPECT_EQ(heartbeat(4, first.broker_epoch, 100).error_code, protocol::code(ErrorCode::NOT_CONTROLLER));
}

TEST_F(BrokerLifecycleServiceTest, ExpiredSessionsAreFencedAndANewIncarnationMayRegister) {
  auto first = register_(registration(4));
  ASSERT_FALSE(heartbeat(4, first.broker_epoch, first.broker_epoch).is_fenced);
  now += 5000;
  ASSERT_EQ(heartbeat(1, 11, 100).error_code, 0);  // broker 1 (epoch 11) stays alive
  now += 5000;  // broker 4: 10 s without a heartbeat
  EXPECT_EQ(lifecycle->fence_expired_sessions(), (std::vector<int32_t>{4}));
  EXPECT_TRUE(image()->brokers.at(4).fenced);
  EXPECT_FALSE(image()->brokers.at(1).fenced);
  EXPECT_TRUE(lifecycle->fence_expired_sessions().empty());

  // The old session is over: a restarted broker 4 registers with a new epoch.
  auto second = register_(registration(4));
  ASSERT_EQ(second.error_code, 0);
  EXPECT_GT(second.broker_epoch, first.broker_epoch);
}

// Kafka's periodic maybeElectUncleanLeaders: a leaderless partition whose
// only ISR member is down gets a live replica as leader once the topic
// allows unclean elections, and not before.
TEST_F(BrokerLifecycleServiceTest, LeaderlessPartitionsGetAnUncleanLeaderOnceTheTopicAllowsIt) {
  const protocol::Uuid id = protocol::Uuid::random();
  protocol::TopicRecord topic;
  topic.name = "u";
  topic.topic_id = id;
  protocol::PartitionRecord p;
  p.topic_id = id;
  p.partition_id = 0;
  p.replicas = {2, 1};
  p.isr = {2};  // broker 2 is fenced; broker 1 is alive but out of the ISR
  p.leader = -1;
  p.leader_epoch = 3;
  p.partition_epoch = 5;
  controller.commit([&](const MetadataImage& image) -> std::vector<metadata::RecordAndVersion> {
    return {{topic, 0}, {p, metadata::partition_record_version(image.metadata_version)}};
  });
  ASSERT_NE(image()->topic("u"), nullptr);
  EXPECT_EQ(lifecycle->elect_leaderless_partitions(), 0u);
  EXPECT_EQ(image()->topic("u")->partition(0)->leader, -1);

  protocol::ConfigRecord unclean;
  unclean.resource_type = static_cast<int8_t>(ConfigResourceType::kTopic);
  unclean.resource_name = "u";
  unclean.name = "unclean.leader.election.enable";
  unclean.value = "true";
  controller.commit([&](const MetadataImage&) -> std::vector<metadata::RecordAndVersion> { return {{unclean, 0}}; });
  EXPECT_EQ(lifecycle->elect_leaderless_partitions(), 1u);
  const PartitionImage* after = image()->topic("u")->partition(0);
  EXPECT_EQ(after->leader, 1);
  EXPECT_EQ(after->isr, (std::vector<int32_t>{1}));
  EXPECT_EQ(after->leader_recovery_state, 1);  // RECOVERING
  EXPECT_EQ(after->leader_epoch, 4);
  active_epoch.reset();
  EXPECT_EQ(lifecycle->elect_leaderless_partitions(), 0u);  // only the active controller
}

TEST_F(BrokerLifecycleServiceTest, ANewActiveControllerGivesEveryBrokerAFreshSession) {
  auto first = register_(registration(4));
  ASSERT_FALSE(heartbeat(4, first.broker_epoch, first.broker_epoch).is_fenced);
  now += 60'000;  // long silence while another node was the controller
  active_epoch = 2;
  EXPECT_TRUE(lifecycle->fence_expired_sessions().empty());
  EXPECT_FALSE(image()->brokers.at(4).fenced);
  now += 9001;
  auto fenced = lifecycle->fence_expired_sessions();
  EXPECT_EQ(fenced, (std::vector<int32_t>{1, 4}));
}

TEST_F(BrokerLifecycleServiceTest, ControlledShutdownThroughHeartbeats) {
  unfence_all();
  auto reg = register_(registration(4));
  const int64_t epoch = reg.broker_epoch;
  ASSERT_FALSE(heartbeat(4, epoch, epoch).is_fenced);
  // Broker 4 leads a partition replicated on 4 and 2.
  controller.commit([&](const MetadataImage& image) {
    protocol::TopicRecord t;
    t.name = "t";
    t.topic_id = protocol::Uuid::random();
    protocol::PartitionRecord p;
    p.topic_id = t.topic_id;
    p.partition_id = 0;
    p.replicas = {4, 2};
    p.isr = {4, 2};
    p.leader = 4;
    p.leader_epoch = 0;
    p.partition_epoch = 0;
    return std::vector<metadata::RecordAndVersion>{
        {t, 0}, {p, metadata::partition_record_version(image.metadata_version)}};
  });
  const int64_t offset = image()->offset;
  auto first = heartbeat(4, epoch, offset, false, true);
  EXPECT_EQ(first.error_code, 0);
  EXPECT_FALSE(first.should_shut_down);
  EXPECT_FALSE(first.is_fenced);
  EXPECT_EQ(image()->topic("t")->partition(0)->leader, 2);
  // Broker 2 has not reported the new offset yet: keep waiting.
  EXPECT_FALSE(heartbeat(4, epoch, image()->offset, false, true).should_shut_down);
  for (int32_t id : {1, 2, 3}) ASSERT_EQ(heartbeat(id, 10 + id, image()->offset).error_code, 0);
  auto last = heartbeat(4, epoch, image()->offset, false, true);
  EXPECT_TRUE(last.should_shut_down);
  EXPECT_TRUE(last.is_fenced);
  EXPECT_TRUE(image()->brokers.at(4).fenced);
}

// The broker side's requests go through the controller listener's dispatcher,
// answered inline.
class LoopbackChannel : public ControllerChannel {
 public:
  LoopbackChannel(BrokerServices& services, net::ConnectionInfo& conn) : services_(services), conn_(conn) {}
  void send(int16_t api_key, int16_t version, std::vector<uint8_t> body, std::chrono::milliseconds, IsNotController,
            OnResponse on_response) override {
    protocol::WireWriter w;
    protocol::RequestHeader header;
    header.request_api_key = api_key;
    header.request_api_version = version;
    header.correlation_id = ++correlation_;
    header.client_id = "broker-4";
    header.encode(w, protocol::request_header_version(api_key, version));
    w.raw(body);
    RequestDispatcher dispatcher(services_, ListenerKind::kController);
    net::Reply reply;
    dispatcher.on_frame(conn_, std::make_shared<const std::vector<uint8_t>>(w.take()),
                        [&](net::Reply r) { reply = std::move(r); });
    ++sent;
    if (drop) return on_response(std::nullopt);
    protocol::WireReader r(reply.bytes);
    r.int32();
    protocol::ResponseHeader rh;
    rh.decode(r, protocol::response_header_version(api_key, version));
    on_response(std::vector<uint8_t>(reply.bytes.begin() + static_cast<std::ptrdiff_t>(r.position()),
                                     reply.bytes.end()));
  }
  int sent = 0;
  bool drop = false;

 private:
  BrokerServices& services_;
  net::ConnectionInfo& conn_;
  int32_t correlation_ = 0;
};

TEST_F(BrokerLifecycleServiceTest, BrokerLifecycleManagerAgainstTheRealHandlers) {
  unfence_all();
  LoopbackChannel channel(services, conn);
  std::multimap<int64_t, std::function<void()>> timers;
  int64_t t = 0;
  auto schedule = [&](std::chrono::milliseconds d, std::function<void()> f) { timers.emplace(t + d.count(), std::move(f)); };
  auto run_timers = [&](int64_t until) {
    while (!timers.empty() && timers.begin()->first <= until) {
      auto f = std::move(timers.begin()->second);
      t = timers.begin()->first;
      timers.erase(timers.begin());
      f();
    }
    t = until;
  };
  BrokerLifecycleManager::Options o;
  o.node_id = 4;
  o.cluster_id = image()->cluster_id;
  o.listeners = {{"PLAINTEXT", "127.0.0.1", 9096, "PLAINTEXT"}};
  for (const auto& f : supported_features()) o.features.push_back({f.name, {f.min_level, f.max_level}});
  o.log_dirs = {protocol::Uuid::random()};
  o.heartbeat_interval_ms = 2000;
  // The broker reports what it has applied: the published image.
  BrokerLifecycleManager broker(channel, schedule, [this] { return image()->offset; }, o);
  broker.start();
  ASSERT_TRUE(broker.registered());
  EXPECT_TRUE(broker.wait_until_unfenced(std::chrono::milliseconds(0)));  // caught up at once
  EXPECT_FALSE(image()->brokers.at(4).fenced);
  EXPECT_EQ(image()->brokers.at(4).epoch, broker.broker_epoch());

  // Heartbeats keep the session alive across many session timeouts.
  for (int i = 0; i < 10; ++i) {
    run_timers(t + 2000);
    now += 2000;
    auto expired = lifecycle->fence_expired_sessions();  // brokers 1-3 are silent
    ASSERT_EQ(std::find(expired.begin(), expired.end(), 4), expired.end());
  }
  EXPECT_FALSE(image()->brokers.at(4).fenced);
  EXPECT_GE(channel.sent, 11);

  // The broker goes silent: fenced after broker.session.timeout.ms.
  channel.drop = true;
  now += 9001;
  auto fenced = lifecycle->fence_expired_sessions();
  EXPECT_NE(std::find(fenced.begin(), fenced.end(), 4), fenced.end());
  EXPECT_TRUE(image()->brokers.at(4).fenced);
  // Back: the next heartbeat unfences it again.
  channel.drop = false;
  run_timers(t + 5000);
  EXPECT_FALSE(image()->brokers.at(4).fenced);
  EXPECT_TRUE(broker.wait_until_unfenced(std::chrono::milliseconds(0)));

  // Nothing to hand over: the controlled shutdown is granted at once.
  EXPECT_TRUE(broker.controlled_shutdown(std::chrono::milliseconds(100)));
  EXPECT_TRUE(image()->brokers.at(4).fenced);
}

TEST_F(BrokerLifecycleServiceTest, PeriodicCheckOnTheControllerThreadFencesExpiredSessions) {
  auto reg = register_(registration(4));
  ASSERT_FALSE(heartbeat(4, reg.broker_epoch, reg.broker_epoch).is_fenced);
  Scheduler scheduler;
  util::SerialExecutor thread("controller-test");
  std::atomic<int64_t> fake_now{now};
  // The clock the checks read moves past the session timeout.
  BrokerLifecycleService::Options options;
  options.session_timeout_ms = 9000;
  options.now_ms = [&] { return fake_now.load(); };
  BrokerLifecycleService checked(controller, options);
  ASSERT_TRUE(checked.fence_expired_sessions().empty());  // takes over: fresh sessions
  checked.schedule_session_checks(scheduler, &thread, std::chrono::milliseconds(10));
  fake_now += 9001;
  for (int i = 0; i < 500 && !image()->brokers.at(4).fenced; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  scheduler.stop();
  thread.drain();
  EXPECT_TRUE(image()->brokers.at(4).fenced);
  EXPECT_TRUE(image()->brokers.at(1).fenced);
}

TEST_F(BrokerLifecycleServiceTest, ServedOnTheControllerListenerOnly) {
  protocol::WireWriter w;
  protocol::RequestHeader header;
  header.request_api_key = kHeartbeat;
  header.request_api_version = 1;
  header.correlation_id = 1;
  header.client_id = "broker";
  header.encode(w, protocol::request_header_version(kHeartbeat, 1));
  BrokerHeartbeatRequest{}.encode(w, 1);
  auto frame = std::make_shared<const std::vector<uint8_t>>(w.take());
  net::Reply reply;
  RequestDispatcher(services, ListenerKind::kBroker).on_frame(conn, frame, [&](net::Reply r) { reply = std::move(r); });
  EXPECT_EQ(reply.kind, net::Reply::Kind::kClose);
  RequestDispatcher(services, ListenerKind::kController).on_frame(conn, frame, [&](net::Reply r) { reply = std::move(r); });
  EXPECT_EQ(reply.kind, net::Reply::Kind::kSend);
}

TEST(BrokerLifecycleOptions, FromServerProperties) {
  std::string props =
      "process.roles=broker\n"
      "node.id=4\n"
      "controller.quorum.voters=1@localhost:9093\n"
      "listeners=PLAINTEXT://127.0.0.1:9092\n"
      "advertised.listeners=PLAINTEXT://broker4.example:9092\n"
      "controller.listener.names=CONTROLLER\n"
      "broker.rack=us-east-1a\n"
      "broker.heartbeat.interval.ms=500\n"
      "broker.session.timeout.ms=3000\n"
      "log.dirs=/nonexistent/samsa-lifecycle-options\n";
  auto config = BrokerConfig::from_properties(Properties::parse(props, "server.properties"),
                                              [](const char*) -> std::optional<std::string> { return std::nullopt; });
  auto o = broker_lifecycle_options(config, "cid");
  EXPECT_EQ(o.node_id, 4);
  EXPECT_EQ(o.cluster_id, "cid");
  EXPECT_EQ(o.rack, "us-east-1a");
  EXPECT_EQ(o.heartbeat_interval_ms, 500);
  ASSERT_EQ(o.listeners.size(), 1u);
  EXPECT_EQ(o.listeners[0].host, "broker4.example");
  EXPECT_FALSE(o.features.empty());
  EXPECT_TRUE(o.log_dirs.empty());  // no meta.properties there
  EXPECT_EQ(broker_lifecycle_service_options(config).session_timeout_ms, 3000);
}

}  // namespace
}  // namespace samsa::broker::test
