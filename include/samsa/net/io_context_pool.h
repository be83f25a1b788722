#pragma once
// N single-threaded reactors; each connection lives on exactly one of them,
// so a connection's state needs no lock.
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace samsa::net {

class IoContextPool {
 public:
  explicit IoContextPool(size_t threads);
  ~IoContextPool();

  void start();
  // Lets the reactors finish queued work, then joins them.
  void stop();
  boost::asio::io_context& next();
  // The reactor the calling thread runs, or nullptr off the reactors. Lets a
  // handler keep its timers on its own thread (no hand-off to another one).
  static boost::asio::io_context* current();
  boost::asio::io_context& at(size_t i) { return *contexts_[i]; }
  size_t size() const { return contexts_.size(); }

 private:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
};

}  // namespace samsa::net
