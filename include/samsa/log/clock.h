#pragma once
// Wall clock in milliseconds behind an interface, so retention, segment.ms
// and timestamp validation can be tested without sleeping.
#include <atomic>
#include <cstdint>
#include <memory>

namespace samsa::log {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override;
  static std::shared_ptr<Clock> instance();
};

// Test clock: stands still until told to move.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  int64_t now_ms() const override { return now_.load(); }
  void set(int64_t ms) { now_.store(ms); }
  void advance(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace samsa::log
