#include "samsa/net/request_budget.h"

namespace samsa::net {

bool RequestBudget::spent() const {
  int64_t limit = limit_.load(std::memory_order_relaxed);
  return limit > 0 && used_.load(std::memory_order_relaxed) >= limit;
}

bool RequestBudget::try_reserve(size_t bytes) {
  int64_t limit = limit_.load(std::memory_order_relaxed);
  int64_t used = used_.load(std::memory_order_relaxed);
  do {
    if (limit > 0 && used >= limit) return false;
  } while (!used_.compare_exchange_weak(used, used + static_cast<int64_t>(bytes), std::memory_order_relaxed));
  return true;
}

void RequestBudget::release(size_t bytes) {
  used_.fetch_sub(static_cast<int64_t>(bytes), std::memory_order_relaxed);
  wake_waiters();
}

void RequestBudget::wait(std::function<void()> wake) {
  {
    std::lock_guard lock(mu_);
    if (spent()) {  // checked under the lock: a release now wakes us after we are listed
      waiters_.push_back(std::move(wake));
      return;
    }
  }
  wake();
}

void RequestBudget::set_limit(int64_t limit) {
  limit_.store(limit, std::memory_order_relaxed);
  wake_waiters();
}

size_t RequestBudget::waiting() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

void RequestBudget::drop_waiters() {
  std::vector<std::function<void()>> dropped;
  {
    std::lock_guard lock(mu_);
    dropped.swap(waiters_);
  }
}

void RequestBudget::wake_waiters() {
  std::vector<std::function<void()>> woken;
  {
    std::lock_guard lock(mu_);
    if (waiters_.empty() || spent()) return;
    woken.swap(waiters_);
  }
  for (auto& w : woken) w();
}

}  // namespace samsa::net
