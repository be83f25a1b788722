#include "samsa/broker/replica/delayed_operation.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include "samsa/broker/fetch/fetch_waiters.h"
#include "samsa/broker/scheduler.h"

namespace samsa::broker::replica {

using protocol::ErrorCode;

namespace {

class DelayedOperation : public std::enable_shared_from_this<DelayedOperation> {
 public:
  DelayedOperation(FetchWaiters& waiters, Scheduler* scheduler, std::vector<DelayedCheck> checks,
                   std::function<void(std::vector<ErrorCode>)> done)
      : waiters_(waiters), scheduler_(scheduler), checks_(std::move(checks)), done_fn_(std::move(done)),
        results_(checks_.size()) {}

  // Completes at once when it can; else parks until a wake-up or the timeout.
  void start(int64_t timeout_ms) {
    if (try_complete(false)) return;
    if (!scheduler_) {
      try_complete(true);
      return;
    }
    std::vector<FetchWaiters::Key> keys;
    for (const auto& c : checks_) keys.emplace_back(c.topic, c.partition);
    auto self = shared_from_this();
    waiter_id_ = waiters_.add(keys, std::make_shared<const std::function<void()>>([self] { self->try_complete(false); }));
    timer_id_ = scheduler_->schedule(std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0)),
                                     [self] { self->try_complete(true); });
    registered_.store(true, std::memory_order_release);
    if (finished_.load(std::memory_order_acquire)) unregister();
    // A notification between the first check and add() was missed.
    try_complete(false);
  }

 private:
  bool try_complete(bool expired) {
    if (finished_.load(std::memory_order_acquire)) return true;
    std::vector<ErrorCode> out;
    {
      std::lock_guard lock(mu_);
      bool all = true;
      for (size_t i = 0; i < checks_.size(); ++i) {
        if (!results_[i]) results_[i] = checks_[i].check();
        all = all && results_[i].has_value();
      }
      if (!all && !expired) return false;
      for (const auto& r : results_) out.push_back(r.value_or(ErrorCode::REQUEST_TIMED_OUT));
    }
    if (finished_.exchange(true, std::memory_order_acq_rel)) return true;
    if (registered_.load(std::memory_order_acquire)) unregister();
    done_fn_(std::move(out));
    return true;
  }

  void unregister() {
    waiters_.remove(waiter_id_);
    scheduler_->cancel(timer_id_);
  }

  FetchWaiters& waiters_;
  Scheduler* scheduler_;
  const std::vector<DelayedCheck> checks_;
  std::function<void(std::vector<ErrorCode>)> done_fn_;
  std::mutex mu_;  // results_
  std::vector<std::optional<ErrorCode>> results_;
  std::atomic<bool> finished_{false};
  std::atomic<bool> registered_{false};
  uint64_t waiter_id_ = 0;
  uint64_t timer_id_ = 0;
};

}  // namespace

void await_checks(FetchWaiters& waiters, Scheduler* scheduler, std::vector<DelayedCheck> checks, int64_t timeout_ms,
                  std::function<void(std::vector<ErrorCode>)> done) {
  if (checks.empty()) return done({});
  std::make_shared<DelayedOperation>(waiters, scheduler, std::move(checks), std::move(done))->start(timeout_ms);
}

}  // namespace samsa::broker::replica
