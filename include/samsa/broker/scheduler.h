#pragma once
// Timers for the broker: fetch long-poll expiry, periodic retention and flush
// checks. One thread runs every timer callback; callbacks must be short and
// hand real work elsewhere (or do it quickly: retention deletes files).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace samsa::broker {

class Scheduler {
 public:
  Scheduler();
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs `fn` once after `delay`. The returned id cancels it (cancel() is a
  // no-op when the timer already fired). Thread-safe.
  uint64_t schedule(std::chrono::milliseconds delay, std::function<void()> fn);
  void cancel(uint64_t id);
  // Runs `fn` every `period` until stop().
  void schedule_periodic(std::chrono::milliseconds period, std::function<void()> fn);
  // Cancels every timer and joins the thread; later schedule() calls are ignored.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace samsa::broker
