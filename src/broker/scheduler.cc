#include "samsa/broker/scheduler.h"

#include <algorithm>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace samsa::broker {

namespace {
// steady_timer counts nanoseconds: a delay near INT64_MAX milliseconds would
// overflow into the past and fire at once, forever. A year is "never" here.
std::chrono::milliseconds bounded(std::chrono::milliseconds d) {
  constexpr std::chrono::milliseconds kYear{365LL * 24 * 3600 * 1000};
  return std::clamp(d, std::chrono::milliseconds(0), kYear);
}
}  // namespace

struct Scheduler::Impl {
  boost::asio::io_context ioc{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{ioc.get_executor()};
  std::thread thread;
  std::mutex mu;
  std::unordered_map<uint64_t, std::shared_ptr<boost::asio::steady_timer>> timers;
  uint64_t next_id = 1;
  bool stopped = false;

  void periodic(std::shared_ptr<boost::asio::steady_timer> timer, std::chrono::milliseconds period,
                std::shared_ptr<std::function<void()>> fn) {
    timer->expires_after(period);
    timer->async_wait([this, timer, period, fn](const boost::system::error_code& ec) {
      if (ec) return;
      (*fn)();
      periodic(timer, period, fn);
    });
  }
};

Scheduler::Scheduler() : impl_(std::make_unique<Impl>()) {
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

Scheduler::~Scheduler() { stop(); }

uint64_t Scheduler::schedule(std::chrono::milliseconds delay, std::function<void()> fn) {
  std::lock_guard lock(impl_->mu);
  if (impl_->stopped) return 0;
  uint64_t id = impl_->next_id++;
  auto timer = std::make_shared<boost::asio::steady_timer>(impl_->ioc, bounded(delay));
  impl_->timers.emplace(id, timer);
  timer->async_wait([this, id, fn = std::move(fn)](const boost::system::error_code& ec) {
    {
      std::lock_guard lock(impl_->mu);
      impl_->timers.erase(id);
    }
    if (!ec) fn();
  });
  return id;
}

void Scheduler::cancel(uint64_t id) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->timers.find(id);
  if (it == impl_->timers.end()) return;
  auto timer = it->second;
  boost::asio::post(impl_->ioc, [timer] { timer->cancel(); });
}

void Scheduler::schedule_periodic(std::chrono::milliseconds period, std::function<void()> fn) {
  std::lock_guard lock(impl_->mu);
  if (impl_->stopped) return;
  uint64_t id = impl_->next_id++;
  auto timer = std::make_shared<boost::asio::steady_timer>(impl_->ioc);
  impl_->timers.emplace(id, timer);
  auto shared_fn = std::make_shared<std::function<void()>>(std::move(fn));
  boost::asio::post(impl_->ioc, [this, timer, period = std::max(bounded(period), std::chrono::milliseconds(1)),
                                 shared_fn] { impl_->periodic(timer, period, shared_fn); });
}

void Scheduler::stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    for (auto& [id, timer] : impl_->timers) boost::asio::post(impl_->ioc, [timer] { timer->cancel(); });
  }
  impl_->guard.reset();
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace samsa::broker
