// The coordinator's loader thread (see load_executor.h).
#include "samsa/broker/group/load_executor.h"

#include "samsa/util/logging.h"

namespace samsa::broker::group {

LoadExecutor::LoadExecutor() : thread_([this] { run(); }) {}

LoadExecutor::~LoadExecutor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    jobs_.clear();
  }
  cv_.notify_all();
  idle_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LoadExecutor::submit(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void LoadExecutor::drain() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [this] { return stopping_ || (jobs_.empty() && !busy_); });
}

void LoadExecutor::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    busy_ = true;
    lock.unlock();
    try {
      job();
    } catch (const std::exception& e) {
      // A job reports its own failures; this only keeps the thread alive.
      samsa::logger("samsa.coordinator.group.LoadExecutor")->error("A load job failed: {}", e.what());
    }
    lock.lock();
    busy_ = false;
    if (jobs_.empty()) idle_cv_.notify_all();
  }
}

}  // namespace samsa::broker::group
