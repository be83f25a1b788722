#include "samsa/net/io_context_pool.h"

#include <pthread.h>

#include <fmt/format.h>

namespace samsa::net {
namespace {
thread_local boost::asio::io_context* t_current = nullptr;
}  // namespace

boost::asio::io_context* IoContextPool::current() { return t_current; }

IoContextPool::IoContextPool(size_t threads) {
  if (threads == 0) threads = 1;
  for (size_t i = 0; i < threads; ++i) {
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
}

IoContextPool::~IoContextPool() { stop(); }

void IoContextPool::start() {
  for (size_t i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([this, i] {
      auto name = fmt::format("samsa-net-{}", i);
      pthread_setname_np(pthread_self(), name.c_str());
      t_current = contexts_[i].get();
      contexts_[i]->run();
    });
  }
}

void IoContextPool::stop() {
  guards_.clear();
  for (auto& ctx : contexts_) ctx->stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

boost::asio::io_context& IoContextPool::next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

}  // namespace samsa::net
