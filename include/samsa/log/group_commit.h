#pragma once
// Group commit: appenders that want durability share fsyncs. Each append
// takes a ticket right after its bytes are written; wait_durable(ticket)
// returns once an fsync that *started* after that write finished has
// completed. One appender at a time runs the fsync (the "leader"); everyone
// whose ticket it covers returns with it, and waiters that arrived during it
// are covered by the next one. So N concurrent appenders cost about two
// fsyncs, not N.
//
// After a failed fsync nothing more is synced or acknowledged: the page
// cache may have dropped the dirty pages ("fsyncgate"), so a later fsync that
// succeeds proves nothing about earlier writes. Every waiter, present and
// future, gets the first failure (the log goes offline, as in Kafka).
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace samsa::log {

class GroupCommitter {
 public:
  // `sync` makes everything written so far durable; it may throw
  // (std::system_error), which fails every waiter it covered.
  explicit GroupCommitter(std::function<void()> sync) : sync_(std::move(sync)) {}

  // Call after the write completed (under the writer's lock, so tickets
  // follow the write order).
  uint64_t ticket();
  // Blocks until `ticket` is durable. Returns an error text if the fsync
  // covering it failed.
  std::optional<std::string> wait_durable(uint64_t ticket);

  uint64_t fsync_count() const;

 private:
  std::function<void()> sync_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t written_ = 0;   // last ticket handed out
  uint64_t durable_ = 0;   // every ticket <= this is durable
  std::optional<std::string> failure_;  // set by the first failed fsync, for good
  bool syncing_ = false;
  uint64_t fsyncs_ = 0;
};

}  // namespace samsa::log
