#pragma once
// The broker-wide budget for request bytes being read or queued
// (queued.max.request.bytes, Kafka's MemoryPool semantics): a connection
// reserves a frame's announced size when it has read the size prefix and
// gives it back when the frame is freed (after the handler is done with it).
// As in Kafka's non-strict pool, a reservation succeeds while anything is
// left, so one frame larger than the remainder still goes through; once the
// budget is spent, connections stop reading until it frees. A limit <= 0
// means unbounded (Kafka's default -1).
//
// Reserving only accounts: the bytes themselves are allocated as they arrive
// (see FrameAssembler), so announced sizes never turn into memory by
// themselves. Thread-safe; wake-ups run on the releasing thread and must only
// post work elsewhere.
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace samsa::net {

class RequestBudget {
 public:
  explicit RequestBudget(int64_t limit = -1) : limit_(limit) {}

  // True (and reserved) when the budget is not spent.
  bool try_reserve(size_t bytes);
  void release(size_t bytes);
  // Runs `wake` once, after the next release that leaves the budget unspent
  // (or right away if it is not spent now).
  void wait(std::function<void()> wake);

  // Takes effect for the next reservation; raising it wakes waiters.
  void set_limit(int64_t limit);
  int64_t limit() const { return limit_.load(std::memory_order_relaxed); }
  int64_t used() const { return used_.load(std::memory_order_relaxed); }
  size_t waiting() const;
  // Forgets the waiters without waking them (their reactors are going away).
  void drop_waiters();

 private:
  bool spent() const;
  void wake_waiters();

  std::atomic<int64_t> limit_;
  std::atomic<int64_t> used_{0};
  mutable std::mutex mu_;
  std::vector<std::function<void()>> waiters_;
};

}  // namespace samsa::net
