#include "samsa/util/serial_executor.h"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <future>

#include "samsa/util/logging.h"

namespace samsa::util {

SerialExecutor::SerialExecutor(std::string name, int nice) : name_(std::move(name)) {
  // A promise, not a local mutex and condition variable: the thread may still
  // be inside notify when the constructor returns and its locals are gone;
  // the promise's shared state lives until both sides let go of it.
  std::promise<void> started;
  std::future<void> started_future = started.get_future();
  thread_ = std::thread([this, nice, started = std::move(started)]() mutable {
    thread_id_ = std::this_thread::get_id();
    started.set_value();
    // Linux limits thread names to 15 characters.
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    // On Linux nice is per thread; failing to lower it is harmless.
    if (nice > 0) (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice);
    run();
  });
  started_future.wait();
}

SerialExecutor::~SerialExecutor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SerialExecutor::post(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      jobs_.push_back(std::move(job));
      cv_.notify_one();
      return;
    }
  }
  job();  // shutting down: the poster does it rather than lose it
}

void SerialExecutor::post_after(std::chrono::milliseconds delay, std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      delayed_.emplace(std::chrono::steady_clock::now() + delay, std::move(job));
      cv_.notify_one();
      return;
    }
  }
  job();
}

void SerialExecutor::drain() {
  if (running_here()) return;  // would wait for itself
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [this] { return jobs_.empty() && running_ == 0; });
}

size_t SerialExecutor::pending() const {
  std::lock_guard lock(mu_);
  return jobs_.size() + running_;
}

void SerialExecutor::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    // Delayed jobs that are due (all of them once stopping) join the queue.
    while (!delayed_.empty() && (stopping_ || delayed_.begin()->first <= std::chrono::steady_clock::now())) {
      jobs_.push_back(std::move(delayed_.begin()->second));
      delayed_.erase(delayed_.begin());
    }
    if (jobs_.empty()) {
      if (stopping_) return;  // everything posted has run
      if (delayed_.empty()) cv_.wait(lock);
      else cv_.wait_until(lock, delayed_.begin()->first);
      continue;
    }
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    ++running_;
    lock.unlock();
    try {
      job();
    } catch (const std::exception& e) {
      samsa::logger("samsa.utils.SerialExecutor")->error("{}: job failed: {}", name_, e.what());
    }
    lock.lock();
    --running_;
    if (jobs_.empty() && running_ == 0) idle_cv_.notify_all();
  }
}

}  // namespace samsa::util
