#pragma once
// The replication simulation's network and timer queue: messages are
// closures delivered after a random delay when the link (a predicate over
// the two ends, checked when sent and when delivered) holds, and lost
// otherwise or at random; a lost message's `lost` callback runs when a real
// sender would give up (its request timeout). Ties run in the order they
// were scheduled, so a seed replays exactly.
//
// Threads: single-threaded.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <utility>

#include "samsa/log/clock.h"

namespace samsa::broker::replica::sim {

class SimNetwork {
 public:
  static constexpr int64_t kRequestTimeoutMs = 300;

  SimNetwork(std::mt19937_64& rng, std::shared_ptr<log::ManualClock> clock) : rng_(rng), clock_(std::move(clock)) {}

  void later(int64_t delay_ms, std::function<void()> fn) {
    queue_.emplace(clock_->now_ms() + delay_ms, std::move(fn));
  }

  void send(std::function<bool()> link, std::function<void()> deliver, std::function<void()> lost) {
    const bool dropped = std::uniform_int_distribution<int>(0, 99)(rng_) == 0;
    if (dropped || !link()) {
      later(kRequestTimeoutMs, std::move(lost));
      return;
    }
    const int64_t delay = std::uniform_int_distribution<int64_t>(1, 15)(rng_);
    later(delay, [this, link = std::move(link), deliver = std::move(deliver), lost = std::move(lost)]() mutable {
      if (link()) deliver();
      else later(kRequestTimeoutMs, std::move(lost));
    });
  }

  // Runs everything due by now, including what those runs schedule for now.
  void run_due() {
    while (!queue_.empty() && queue_.begin()->first <= clock_->now_ms()) {
      auto fn = std::move(queue_.begin()->second);
      queue_.erase(queue_.begin());
      fn();
    }
  }

 private:
  std::mt19937_64& rng_;
  std::shared_ptr<log::ManualClock> clock_;
  std::multimap<int64_t, std::function<void()>> queue_;
};

}  // namespace samsa::broker::replica::sim
