// The broker side of KIP-631 against a fake ControllerChannel and a fake
// timer: registration with retries, heartbeats at the interval, unfencing,
// re-registration, and controlled shutdown.
#include "samsa/broker/broker_lifecycle_manager.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "samsa/protocol/gen/broker_heartbeat_request.h"
#include "samsa/protocol/gen/broker_heartbeat_response.h"
#include "samsa/protocol/gen/broker_registration_request.h"
#include "samsa/protocol/gen/broker_registration_response.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::broker {
namespace {

using namespace std::chrono_literals;
using protocol::ErrorCode;

struct Sent {
  int16_t api_key = 0;
  int16_t version = 0;
  std::vector<uint8_t> body;
  ControllerChannel::OnResponse on_response;
};

class FakeChannel : public ControllerChannel {
 public:
  void send(int16_t api_key, int16_t api_version, std::vector<uint8_t> body, std::chrono::milliseconds,
            IsNotController, OnResponse on_response) override {
    std::lock_guard lock(mu_);
    sent_.push_back({api_key, api_version, std::move(body), std::move(on_response)});
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return sent_.size();
  }
  // Waits (bounded) until `n` requests were sent.
  bool wait_for(size_t n) {
    for (int i = 0; i < 2000 && count() < n; ++i) std::this_thread::sleep_for(1ms);
    return count() >= n;
  }
  Sent at(size_t i) {
    std::lock_guard lock(mu_);
    return sent_.at(i);
  }
  template <typename Request>
  Request request(size_t i) {
    Sent s = at(i);
    EXPECT_EQ(s.api_key, Request::kApiKey);
    protocol::WireReader r(s.body);
    Request req;
    req.decode(r, s.version);
    return req;
  }
  template <typename Response>
  void answer(size_t i, const Response& response) {
    Sent s = at(i);
    protocol::WireWriter w;
    response.encode(w, s.version);
    s.on_response(w.take());
  }
  void time_out(size_t i) { at(i).on_response(std::nullopt); }

 private:
  std::mutex mu_;
  std::vector<Sent> sent_;
};

// Timers that fire when the test moves time forward.
class FakeTimer {
 public:
  BrokerLifecycleManager::ScheduleFn fn() {
    return [this](std::chrono::milliseconds delay, std::function<void()> f) {
      std::lock_guard lock(mu_);
      timers_.emplace(now_ + delay.count(), std::move(f));
    };
  }
  void advance(int64_t ms) {
    int64_t until;
    {
      std::lock_guard lock(mu_);
      until = now_ + ms;
    }
    while (true) {
      std::function<void()> f;
      {
        std::lock_guard lock(mu_);
        auto it = timers_.begin();
        if (it == timers_.end() || it->first > until) {
          now_ = until;
          return;
        }
        now_ = it->first;
        f = std::move(it->second);
        timers_.erase(it);
      }
      f();
    }
  }

 private:
  std::mutex mu_;
  int64_t now_ = 0;
  std::multimap<int64_t, std::function<void()>> timers_;
};

protocol::BrokerRegistrationResponse registered(int64_t epoch, ErrorCode error = ErrorCode::NONE) {
  protocol::BrokerRegistrationResponse r;
  r.error_code = protocol::code(error);
  r.broker_epoch = epoch;
  return r;
}

protocol::BrokerHeartbeatResponse beat(bool fenced, bool shut_down = false, ErrorCode error = ErrorCode::NONE) {
  protocol::BrokerHeartbeatResponse r;
  r.error_code = protocol::code(error);
  r.is_fenced = fenced;
  r.is_caught_up = !fenced;
  r.should_shut_down = shut_down;
  return r;
}

class BrokerLifecycleManagerTest : public ::testing::Test {
 protected:
  std::unique_ptr<BrokerLifecycleManager> make(bool ready = true) {
    BrokerLifecycleManager::Options o;
    o.node_id = 4;
    o.cluster_id = "cluster";
    o.listeners = {{"PLAINTEXT", "127.0.0.1", 9092, "PLAINTEXT"}};
    o.features = {{"metadata.version", {7, 21}}};
    o.rack = "r1";
    o.log_dirs = {protocol::Uuid::random()};
    o.heartbeat_interval_ms = 2000;
    o.retry_backoff_ms = 100;
    o.ready_to_unfence = ready;
    return std::make_unique<BrokerLifecycleManager>(channel, timer.fn(), [this] { return offset.load(); }, o);
  }

  FakeChannel channel;
  FakeTimer timer;
  std::atomic<int64_t> offset{40};
};

TEST_F(BrokerLifecycleManagerTest, RegistersRetriesAndHeartbeatsUntilUnfenced) {
  auto m = make();
  m->start();
  ASSERT_EQ(channel.count(), 1u);
  auto reg = channel.request<protocol::BrokerRegistrationRequest>(0);
  EXPECT_EQ(reg.broker_id, 4);
  EXPECT_EQ(reg.cluster_id, "cluster");
  EXPECT_EQ(reg.incarnation_id, m->incarnation_id());
  ASSERT_EQ(reg.listeners.size(), 1u);
  EXPECT_EQ(reg.listeners[0].port, 9092);
  EXPECT_EQ(reg.listeners[0].security_protocol, 0);
  EXPECT_EQ(reg.rack, "r1");
  EXPECT_EQ(reg.log_dirs.size(), 1u);
  ASSERT_EQ(reg.features.size(), 1u);

  // The old incarnation's session still lives: retried after the backoff.
  channel.answer(0, registered(-1, ErrorCode::DUPLICATE_BROKER_REGISTRATION));
  EXPECT_EQ(m->last_error(), ErrorCode::DUPLICATE_BROKER_REGISTRATION);
  EXPECT_FALSE(m->registered());
  timer.advance(99);
  EXPECT_EQ(channel.count(), 1u);
  timer.advance(1);
  ASSERT_EQ(channel.count(), 2u);
  EXPECT_EQ(channel.request<protocol::BrokerRegistrationRequest>(1).incarnation_id, m->incarnation_id());
  channel.time_out(1);  // no answer in time: retried too (backoff doubled)
  timer.advance(199);
  EXPECT_EQ(channel.count(), 2u);
  timer.advance(1);
  ASSERT_EQ(channel.count(), 3u);
  channel.answer(2, registered(42));
  EXPECT_TRUE(m->registered());
  EXPECT_EQ(m->broker_epoch(), 42);
  EXPECT_EQ(m->state(), BrokerLifecycleState::kRecovery);

  // The first heartbeat goes out at once.
  ASSERT_EQ(channel.count(), 4u);
  auto hb = channel.request<protocol::BrokerHeartbeatRequest>(3);
  EXPECT_EQ(hb.broker_id, 4);
  EXPECT_EQ(hb.broker_epoch, 42);
  EXPECT_EQ(hb.current_metadata_offset, 40);
  EXPECT_FALSE(hb.want_fence);
  EXPECT_FALSE(hb.want_shut_down);
  channel.answer(3, beat(true));
  EXPECT_FALSE(m->wait_until_unfenced(1ms));
  timer.advance(1999);
  EXPECT_EQ(channel.count(), 4u);
  offset = 42;
  timer.advance(1);
  ASSERT_EQ(channel.count(), 5u);
  EXPECT_EQ(channel.request<protocol::BrokerHeartbeatRequest>(4).current_metadata_offset, 42);
  channel.answer(4, beat(false));
  EXPECT_TRUE(m->wait_until_unfenced(1ms));
  EXPECT_EQ(m->state(), BrokerLifecycleState::kRunning);

  // Fenced again (its session expired at the controller): back to recovery.
  timer.advance(2000);
  ASSERT_EQ(channel.count(), 6u);
  channel.answer(5, beat(true));
  EXPECT_TRUE(m->fenced());
  EXPECT_EQ(m->state(), BrokerLifecycleState::kRecovery);
}

TEST_F(BrokerLifecycleManagerTest, WantsFenceUntilReadyAndRegistersAgainWhenForgotten) {
  auto m = make(/*ready=*/false);
  m->start();
  channel.answer(0, registered(42));
  EXPECT_TRUE(channel.request<protocol::BrokerHeartbeatRequest>(1).want_fence);
  channel.answer(1, beat(true));
  m->set_ready_to_unfence();
  timer.advance(2000);
  EXPECT_FALSE(channel.request<protocol::BrokerHeartbeatRequest>(2).want_fence);
  // The controller no longer knows this registration: register again.
  channel.answer(2, beat(true, false, ErrorCode::STALE_BROKER_EPOCH));
  EXPECT_FALSE(m->registered());
  ASSERT_EQ(channel.count(), 4u);
  auto reg = channel.request<protocol::BrokerRegistrationRequest>(3);
  EXPECT_EQ(reg.incarnation_id, m->incarnation_id());
  channel.answer(3, registered(77));
  EXPECT_EQ(m->broker_epoch(), 77);
  EXPECT_EQ(channel.request<protocol::BrokerHeartbeatRequest>(4).broker_epoch, 77);
  // NOT_CONTROLLER and other errors: retried after the backoff.
  channel.answer(4, beat(true, false, ErrorCode::NOT_CONTROLLER));
  timer.advance(100);
  EXPECT_EQ(channel.count(), 6u);
}

TEST_F(BrokerLifecycleManagerTest, ControlledShutdownWaitsForTheControllersGo) {
  auto m = make();
  m->start();
  channel.answer(0, registered(42));
  channel.answer(1, beat(false));
  ASSERT_EQ(m->state(), BrokerLifecycleState::kRunning);

  std::atomic<int> result{-1};
  std::thread stopper([&] { result = m->controlled_shutdown(10s) ? 1 : 0; });
  // Asked at once, not at the next heartbeat.
  ASSERT_TRUE(channel.wait_for(3));
  auto hb = channel.request<protocol::BrokerHeartbeatRequest>(2);
  EXPECT_TRUE(hb.want_shut_down);
  EXPECT_FALSE(hb.want_fence);
  channel.answer(2, beat(false, false));  // leaderships still moving
  EXPECT_EQ(result.load(), -1);
  timer.advance(200);
  ASSERT_TRUE(channel.wait_for(4));
  EXPECT_TRUE(channel.request<protocol::BrokerHeartbeatRequest>(3).want_shut_down);
  channel.answer(3, beat(true, true));
  stopper.join();
  EXPECT_EQ(result.load(), 1);
  EXPECT_EQ(m->state(), BrokerLifecycleState::kStopped);
  // Stopped: timers and late answers do nothing.
  timer.advance(10'000);
  EXPECT_EQ(channel.count(), 4u);
}

TEST_F(BrokerLifecycleManagerTest, ControlledShutdownGivesUpAtItsDeadline) {
  auto m = make();
  m->start();
  channel.answer(0, registered(42));
  channel.answer(1, beat(false));
  // A heartbeat is in flight when the shutdown starts: the request follows
  // right after its answer.
  timer.advance(2000);
  ASSERT_EQ(channel.count(), 3u);
  std::atomic<int> result{-1};
  std::thread stopper([&] { result = m->controlled_shutdown(300ms) ? 1 : 0; });
  for (int i = 0; i < 2000 && m->state() != BrokerLifecycleState::kPendingControlledShutdown; ++i)
    std::this_thread::sleep_for(1ms);
  channel.answer(2, beat(false));
  ASSERT_TRUE(channel.wait_for(4));
  EXPECT_TRUE(channel.request<protocol::BrokerHeartbeatRequest>(3).want_shut_down);
  stopper.join();  // nobody answers: bounded by the 300 ms deadline
  EXPECT_EQ(result.load(), 0);
  channel.answer(3, beat(true, true));  // too late: ignored
  EXPECT_EQ(m->state(), BrokerLifecycleState::kStopped);
}

TEST_F(BrokerLifecycleManagerTest, DestroyedManagerIgnoresLateAnswersAndTimers) {
  auto m = make();
  m->start();
  channel.answer(0, registered(42));
  m.reset();
  channel.answer(1, beat(false));
  timer.advance(10'000);
  EXPECT_EQ(channel.count(), 2u);
}

}  // namespace
}  // namespace samsa::broker
