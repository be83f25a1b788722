#pragma once
// Parked (long-poll) fetches waiting for data, keyed by partition. The
// Produce handler calls notify() after each successful append; every waiter
// registered on that partition gets its wake callback (outside the lock),
// and decides itself whether it can complete now. Waiters stay registered
// until they remove themselves.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace samsa::broker {

struct BrokerServices;

class FetchWaiters {
 public:
  using Key = std::pair<std::string, int32_t>;
  using Wake = std::shared_ptr<const std::function<void()>>;

  uint64_t add(const std::vector<Key>& keys, Wake wake);
  void remove(uint64_t id);
  void notify(const std::string& topic, int32_t partition);
  size_t size() const;

 private:
  struct Entry {
    std::vector<Key> keys;
    Wake wake;
  };
  mutable std::mutex mu_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Entry> by_id_;
  std::map<Key, std::map<uint64_t, Wake>> by_key_;
};

// The registry of one broker (one per BrokerServices instance, created on
// first use and kept for the life of the process).
FetchWaiters& fetch_waiters(const BrokerServices* services);

}  // namespace samsa::broker
