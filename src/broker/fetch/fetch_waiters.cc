#include "samsa/broker/fetch/fetch_waiters.h"

#include "samsa/broker/broker_services.h"

namespace samsa::broker {

uint64_t FetchWaiters::add(const std::vector<Key>& keys, Wake wake) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  for (const auto& k : keys) by_key_[k].emplace(id, wake);
  by_id_.emplace(id, Entry{keys, std::move(wake)});
  return id;
}

void FetchWaiters::remove(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  for (const auto& k : it->second.keys) {
    auto kit = by_key_.find(k);
    if (kit == by_key_.end()) continue;
    kit->second.erase(id);
    if (kit->second.empty()) by_key_.erase(kit);
  }
  by_id_.erase(it);
}

void FetchWaiters::notify(const std::string& topic, int32_t partition) {
  std::vector<Wake> wakes;
  {
    std::lock_guard lock(mu_);
    auto it = by_key_.find(Key{topic, partition});
    if (it == by_key_.end()) return;
    wakes.reserve(it->second.size());
    for (const auto& [id, w] : it->second) wakes.push_back(w);
  }
  for (const auto& w : wakes) (*w)();
}

size_t FetchWaiters::size() const {
  std::lock_guard lock(mu_);
  return by_id_.size();
}

FetchWaiters& fetch_waiters(const BrokerServices* services) { return *services->fetch_waiters; }

}  // namespace samsa::broker
