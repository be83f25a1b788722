#include "samsa/log/group_commit.h"

#include <exception>

namespace samsa::log {

uint64_t GroupCommitter::ticket() {
  std::lock_guard lock(mu_);
  return ++written_;
}

std::optional<std::string> GroupCommitter::wait_durable(uint64_t ticket) {
  std::unique_lock lock(mu_);
  while (true) {
    if (failure_) return failure_;
    if (durable_ >= ticket) return std::nullopt;
    if (!syncing_) break;
    cv_.wait(lock);
  }
  // Become the leader: the fsync covers every write ticketed so far.
  syncing_ = true;
  const uint64_t target = written_;
  lock.unlock();
  std::optional<std::string> error;
  try {
    sync_();
  } catch (const std::exception& e) {
    error = e.what();
  }
  lock.lock();
  ++fsyncs_;
  if (error && !failure_) failure_ = *error;
  durable_ = std::max(durable_, target);
  syncing_ = false;
  cv_.notify_all();
  return error;
}

uint64_t GroupCommitter::fsync_count() const {
  std::lock_guard lock(mu_);
  return fsyncs_;
}

}  // namespace samsa::log
