#pragma once
// One thread that runs posted jobs one at a time, in the order they were
// posted. The broker keeps slow, blocking work here instead of on network
// threads: controller commits (each ends in an fsync of the metadata log) and
// the fsyncs a segment roll leaves behind, as Kafka keeps them on its
// controller event thread and its "kafka-scheduler" threads.
//
// Threading: post() and running_here() are safe from any thread. A job runs
// on the executor's thread and may post more jobs. The destructor runs the
// jobs already posted, then joins; jobs posted after that are run inline by
// the poster (nothing is silently dropped).
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace samsa::util {

class SerialExecutor {
 public:
  // `nice` > 0 lowers the thread's scheduling priority (Linux per-thread
  // nice): its work yields the CPU to the network threads when both want it.
  explicit SerialExecutor(std::string name, int nice = 0);
  ~SerialExecutor();
  SerialExecutor(const SerialExecutor&) = delete;
  SerialExecutor& operator=(const SerialExecutor&) = delete;

  void post(std::function<void()> job);
  // Runs `job` on the executor once `delay` has passed (in due order with
  // other delayed jobs). At destruction, delayed jobs not yet due run at once.
  void post_after(std::chrono::milliseconds delay, std::function<void()> job);
  // True on the executor's own thread (a job that may run inline there).
  bool running_here() const { return std::this_thread::get_id() == thread_id_; }
  // Blocks until every job posted before this call has run (tests, shutdown);
  // delayed jobs not due yet are not waited for.
  void drain();
  // Jobs posted and not finished yet.
  size_t pending() const;

 private:
  void run();

  std::string name_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::function<void()>> jobs_;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> delayed_;
  size_t running_ = 0;
  bool stopping_ = false;
  std::thread::id thread_id_;
  std::thread thread_;
};

}  // namespace samsa::util
