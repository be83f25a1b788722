#include "samsa/log/group_commit.h"

#include <exception>

namespace samsa::log {

void GroupCommitter::request(int64_t offset) {
  {
    std::lock_guard lock(mu_);
    if (stopped_ || failed_) return;
    if (running_) {
      // The running fsync covers only what was written before it started.
      if (offset > running_end_) again_ = true;
      return;
    }
    if (scheduled_) return;  // the job not started yet covers it
    if (offset <= hooks_.durable()) return;
    scheduled_ = true;
  }
  hooks_.schedule();
}

void GroupCommitter::run() {
  int64_t end;
  {
    std::lock_guard lock(mu_);
    scheduled_ = false;
    if (stopped_ || failed_ || running_) return;
    running_ = true;
    again_ = false;
    // Read under mu_: a request() that saw running_ == false posted this job
    // or a later one, so no request falls between two jobs.
    end = hooks_.end();
    running_end_ = end;
  }
  bool ok = true;
  try {
    hooks_.sync(end);
  } catch (const std::exception&) {
    ok = false;  // the hook reported it (the log is offline now)
  }
  bool repost = false;
  {
    std::lock_guard lock(mu_);
    running_ = false;
    ++fsyncs_;
    if (!ok) failed_ = true;
    if (again_ && !failed_ && !stopped_ && !scheduled_) {
      // Posted again rather than looped here: the other logs waiting for a
      // flush thread get their turn in between.
      scheduled_ = true;
      repost = true;
    }
    again_ = false;
  }
  idle_cv_.notify_all();
  if (repost) hooks_.schedule();
  if (hooks_.on_durable) hooks_.on_durable();
}

void GroupCommitter::stop() {
  std::unique_lock lock(mu_);
  stopped_ = true;
  idle_cv_.wait(lock, [this] { return !running_; });
}

void GroupCommitter::resume() {
  std::lock_guard lock(mu_);
  stopped_ = false;
}

bool GroupCommitter::failed() const {
  std::lock_guard lock(mu_);
  return failed_;
}

uint64_t GroupCommitter::fsync_count() const {
  std::lock_guard lock(mu_);
  return fsyncs_;
}

}  // namespace samsa::log
