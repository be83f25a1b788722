// KafkaControllerChannel over a real net::KafkaClient and two loopback
// "controllers": a request follows the leader the node knows, is retried on
// NOT_CONTROLLER (as the caller decodes it) and while no leader is known,
// and fails with nullopt at its deadline or when the channel closes.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>

#include "samsa/broker/kafka_controller_channel.h"
#include "samsa/net/frame_handler.h"
#include "samsa/net/io_context_pool.h"
#include "samsa/net/tcp_server.h"
#include "samsa/protocol/gen/api_keys.h"
#include "samsa/protocol/gen/request_header.h"
#include "samsa/protocol/gen/response_header.h"

namespace samsa::broker {
namespace {

using namespace std::chrono_literals;
using Body = std::optional<std::vector<uint8_t>>;

// Answers every request with `answer` as the body.
class FixedAnswer : public net::FrameHandler {
 public:
  explicit FixedAnswer(std::string answer) : answer_(std::move(answer)) {}
  void on_frame(const net::ConnectionInfo&, net::FramePtr frame, net::ReplyFn reply) override {
    protocol::WireReader r(*frame);
    protocol::WireReader peek(*frame);
    int16_t key = peek.int16();
    int16_t version = peek.int16();
    protocol::RequestHeader header;
    header.decode(r, protocol::request_header_version(key, version));
    ++requests;
    protocol::WireWriter w;
    w.int32(0);
    protocol::ResponseHeader rh;
    rh.correlation_id = header.correlation_id;
    rh.encode(w, protocol::response_header_version(key, version));
    w.raw(std::vector<uint8_t>(answer_.begin(), answer_.end()));
    w.patch_int32(0, static_cast<int32_t>(w.size() - 4));
    reply(net::Reply::send(w.take()));
  }
  std::atomic<int> requests{0};

 private:
  std::string answer_;
};

// Takes every request and answers none (a hung or vanished controller)
// until release().
class Silent : public net::FrameHandler {
 public:
  void on_frame(const net::ConnectionInfo&, net::FramePtr, net::ReplyFn reply) override {
    std::lock_guard lock(mu_);
    held_.push_back(std::move(reply));
    ++requests;
  }
  void release() {
    std::vector<net::ReplyFn> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (auto& r : held) r(net::Reply::close());
  }
  std::atomic<int> requests{0};

 private:
  std::mutex mu_;
  std::vector<net::ReplyFn> held_;
};

class KafkaControllerChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server = std::make_unique<net::TcpServer>(pool, net::ConnectionOptions{});
    port_refusing = server->listen(net::ListenerConfig{"CONTROLLER", "127.0.0.1", 0, &refusing});
    port_active = server->listen(net::ListenerConfig{"CONTROLLER2", "127.0.0.1", 0, &active});
    port_silent = server->listen(net::ListenerConfig{"CONTROLLER3", "127.0.0.1", 0, &silent});
    pool.start();
    server->start_accepting();
    net::KafkaClientOptions o;
    o.client_id = "channel-test";
    o.request_timeout_ms = 2000;
    client = std::make_unique<net::KafkaClient>(o);
    channel = std::make_unique<KafkaControllerChannel>(
        *client,
        [this] {
          std::lock_guard lock(mu);
          return leader;
        },
        [this](raft::NodeId id) -> std::optional<net::Endpoint> {
          if (id == 1) return net::Endpoint{"127.0.0.1", port_refusing};
          if (id == 2) return net::Endpoint{"127.0.0.1", port_active};
          if (id == 3) return net::Endpoint{"127.0.0.1", port_silent};
          return std::nullopt;
        },
        10ms);
  }
  void TearDown() override {
    silent.release();
    channel->close();
    client->close();
    channel.reset();
    client.reset();
    server->stop_accepting();
    server->drain(1s);
    pool.stop();
    server.reset();
  }
  void set_leader(raft::NodeId id) {
    std::lock_guard lock(mu);
    leader = {id, 1};
  }
  std::future<Body> send(std::chrono::milliseconds timeout) {
    auto promise = std::make_shared<std::promise<Body>>();
    auto future = promise->get_future();
    channel->send(
        19, 7, {1, 2, 3}, timeout,
        [](const std::vector<uint8_t>& body) { return std::string(body.begin(), body.end()) == "NOT_CONTROLLER"; },
        [promise](Body body) { promise->set_value(std::move(body)); });
    return future;
  }
  static std::string text(const Body& b) { return b ? std::string(b->begin(), b->end()) : "<nullopt>"; }

  net::IoContextPool pool{1};
  FixedAnswer refusing{"NOT_CONTROLLER"};
  FixedAnswer active{"created"};
  std::unique_ptr<net::TcpServer> server;
  uint16_t port_refusing = 0;
  uint16_t port_active = 0;
  Silent silent;
  uint16_t port_silent = 0;
  std::unique_ptr<net::KafkaClient> client;
  std::unique_ptr<KafkaControllerChannel> channel;
  std::mutex mu;
  raft::LeaderAndEpoch leader;
};

TEST_F(KafkaControllerChannelTest, RetriesNotControllerUntilTheNewLeaderAnswers) {
  set_leader(1);
  auto answer = send(5s);
  for (int i = 0; i < 400 && refusing.requests.load() < 2; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_GE(refusing.requests.load(), 2) << "NOT_CONTROLLER is retried";
  EXPECT_EQ(answer.wait_for(0ms), std::future_status::timeout) << "and never relayed";
  set_leader(2);  // the quorum elected node 2
  ASSERT_EQ(answer.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(text(answer.get()), "created");
  EXPECT_EQ(active.requests.load(), 1);
}

TEST_F(KafkaControllerChannelTest, AnAttemptToAnOldLeaderIsNotWaitedForOnceTheLeaderMoves) {
  // Node 3 takes the request and never answers (a controller that died
  // with its connection still to be noticed, or in reconnect backoff); the
  // client's own request timeout is 2 s.
  set_leader(3);
  auto answer = send(10s);
  for (int i = 0; i < 400 && silent.requests.load() < 1; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(silent.requests.load(), 1);
  auto moved = std::chrono::steady_clock::now();
  set_leader(2);
  ASSERT_EQ(answer.wait_for(5s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - moved, 1s) << "waited for the old leader's attempt";
  EXPECT_EQ(text(answer.get()), "created");
  EXPECT_EQ(active.requests.load(), 1);
}

TEST_F(KafkaControllerChannelTest, WithoutALeaderTheRequestFailsAtItsDeadline) {
  auto started = std::chrono::steady_clock::now();
  auto answer = send(200ms);
  ASSERT_EQ(answer.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(text(answer.get()), "<nullopt>");
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(refusing.requests.load() + active.requests.load(), 0);
}

TEST_F(KafkaControllerChannelTest, CloseAnswersWaitingRequestsAtOnce) {
  set_leader(1);
  auto answer = send(30s);
  for (int i = 0; i < 400 && refusing.requests.load() < 1; ++i) std::this_thread::sleep_for(5ms);
  channel->close();
  ASSERT_EQ(answer.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(text(answer.get()), "<nullopt>");
  auto later = send(30s);
  ASSERT_EQ(later.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(text(later.get()), "<nullopt>");
}

}  // namespace
}  // namespace samsa::broker
