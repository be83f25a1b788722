#pragma once
// Group commit for a log's durable offset (everything below it is fsynced:
// log.h). An append that must be on disk before it is answered
// (flush.messages reached) only REQUESTS a flush and returns at once; the
// flush runs as a job on a flush thread (flusher.h), never on the appending
// thread and never under the log's append lock, so appends go on while it
// runs. One flush job per log at a time: each fsync covers every append
// written before it started, however many asked for it, and the requests
// that arrive while it runs are covered by one more job posted when it ends.
// So N appends cost about as many fsyncs as fit in the time they take, not N.
//
// After a failed fsync nothing more is synced: the page cache may have
// dropped the pages it covered ("fsyncgate"), so a later fsync that succeeds
// proves nothing about earlier writes. The committer stops for good; the
// `sync` hook takes the log offline, and waiters see that.
//
// Threads: request(), stop() and the counters are safe from any thread and
// never wait for I/O (stop() waits for a running flush). run() is called by
// the job `schedule` posted, on a flush thread.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace samsa::log {

class GroupCommitter {
 public:
  struct Hooks {
    std::function<int64_t()> end;            // the log end: what a flush starting now covers
    std::function<int64_t()> durable;        // the durable offset now
    std::function<void(int64_t end)> sync;   // makes everything below `end` durable; throws on failure
    std::function<void()> schedule;          // posts a job that calls run() on a flush thread
    std::function<void()> on_durable;        // after each flush job (failed ones too), no lock held
  };
  explicit GroupCommitter(Hooks hooks) : hooks_(std::move(hooks)) {}

  // Asks for everything below `offset` to become durable; returns at once.
  void request(int64_t offset);
  // The flush job: one sync covering the log end as of its start.
  void run();
  // No flush job runs after this returns (a running one is waited for):
  // the log is closing, or its files are about to change under a flush.
  void stop();
  // Undoes stop() (after a truncation).
  void resume();

  bool failed() const;
  uint64_t fsync_count() const;

 private:
  Hooks hooks_;
  mutable std::mutex mu_;
  std::condition_variable idle_cv_;
  bool scheduled_ = false;  // a job is posted and has not started
  bool running_ = false;    // a job is inside sync()
  bool again_ = false;      // a request came during the running job beyond what it covers
  int64_t running_end_ = 0; // what the running job covers
  bool stopped_ = false;
  bool failed_ = false;
  uint64_t fsyncs_ = 0;
};

}  // namespace samsa::log
