#pragma once
// The threads that run the logs' group-commit flushes (group_commit.h), so
// that an fsync never runs on a network thread or under a log's append lock.
// A fixed number of threads serves every log of a LogManager (no thread per
// partition); a log has at most one flush job queued or running, so the
// threads are shared fairly and several partitions' fsyncs overlap on the
// disk (and in the file system's journal commits).
//
// Threads: post() from any thread. Jobs run in the order posted, up to
// `threads` at once. The destructor runs the jobs already posted, then joins;
// a job posted after that runs inline on the poster's thread.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace samsa::log {

class Flusher {
 public:
  explicit Flusher(size_t threads);
  ~Flusher();
  Flusher(const Flusher&) = delete;
  Flusher& operator=(const Flusher&) = delete;

  void post(std::function<void()> job);

 private:
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace samsa::log
