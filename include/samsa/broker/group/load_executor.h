#pragma once
// One background thread that replays __consumer_offsets partitions for the
// group coordinator (Kafka's "group-coordinator-loader" threads), so that
// reading a large partition never holds up the metadata publisher thread
// that learns of the leadership change. Jobs run one at a time, in the
// order they were submitted.
//
// Threading: submit() and drain() from any thread (never from a job);
// the destructor stops the thread after the running job, dropping the rest.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace samsa::broker::group {

class LoadExecutor {
 public:
  LoadExecutor();
  ~LoadExecutor();
  LoadExecutor(const LoadExecutor&) = delete;
  LoadExecutor& operator=(const LoadExecutor&) = delete;

  void submit(std::function<void()> job);
  // Blocks until every job submitted before the call has run. The broker
  // uses it at startup so listeners open on loaded groups.
  void drain();

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;       // a job was queued, or stopping
  std::condition_variable idle_cv_;  // a job finished
  std::deque<std::function<void()>> jobs_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace samsa::broker::group
