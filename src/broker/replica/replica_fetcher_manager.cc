// ReplicaFetcherManager (Kafka's AbstractFetcherManager): maps each followed
// partition to the fetcher thread for (leader broker, hash % num.replica.fetchers),
// creates fetcher threads on demand and stops those left without partitions.
#include "samsa/broker/replica/replica_fetcher_manager.h"

#include <functional>
#include <map>
#include <mutex>

#include "replica_fetcher_thread.h"
#include "samsa/util/logging.h"

namespace samsa::broker::replica {

namespace {
const std::shared_ptr<spdlog::logger>& manager_logger() {
  static auto l = samsa::logger("samsa.server.ReplicaFetcherManager");
  return l;
}
}  // namespace

struct ReplicaFetcherManager::Impl {
  explicit Impl(ReplicaFetcherOptions o) : options(std::move(o)) {
    if (options.num_fetchers < 1) options.num_fetchers = 1;
  }

  int32_t fetcher_index(const std::string& topic, int32_t partition) const {
    // Kafka spreads by (topic hash + partition) so one topic's partitions
    // land on different fetchers.
    const size_t h = std::hash<std::string>{}(topic) + static_cast<size_t>(partition);
    return static_cast<int32_t>(h % static_cast<size_t>(options.num_fetchers));
  }

  // Removes `key` from whichever fetcher has it; a fetcher left without
  // partitions is stopped (Kafka's shutdownIdleFetcherThreads).
  void remove_locked(const std::pair<std::string, int32_t>& key) {
    auto where = owner.find(key);
    if (where == owner.end()) return;
    auto it = fetchers.find(where->second);
    if (it != fetchers.end()) {
      it->second->remove(key.first, key.second);
      if (it->second->size() == 0) {
        it->second->shutdown();
        fetchers.erase(it);
      }
    }
    owner.erase(where);
  }

  ReplicaFetcherOptions options;
  mutable std::mutex mu;  // add/remove/shutdown are serialised
  bool stopped = false;
  // (leader id, fetcher index) -> thread
  std::map<std::pair<int32_t, int32_t>, std::unique_ptr<ReplicaFetcherThread>> fetchers;
  // partition -> the fetcher that has it
  std::map<std::pair<std::string, int32_t>, std::pair<int32_t, int32_t>> owner;
};

ReplicaFetcherManager::ReplicaFetcherManager(ReplicaFetcherOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

ReplicaFetcherManager::~ReplicaFetcherManager() { shutdown(); }

void ReplicaFetcherManager::add_partitions(const std::vector<FollowTarget>& targets) {
  std::lock_guard lock(impl_->mu);
  if (impl_->stopped) return;
  for (const auto& t : targets) {
    std::pair<std::string, int32_t> key{t.topic, t.partition};
    const std::pair<int32_t, int32_t> fid{t.leader_id, impl_->fetcher_index(t.topic, t.partition)};
    auto where = impl_->owner.find(key);
    if (where != impl_->owner.end() && where->second != fid) impl_->remove_locked(key);  // the leader moved
    auto& fetcher = impl_->fetchers[fid];
    if (!fetcher) fetcher = std::make_unique<ReplicaFetcherThread>(fid.first, fid.second, impl_->options);
    fetcher->add(t);
    impl_->owner[key] = fid;
  }
  // As Kafka's "Added fetcher to broker ...": what follows whom, briefly.
  if (!targets.empty())
    manager_logger()->info("Following {} partitions (first: {}-{} from broker {} in leader epoch {})",
                           targets.size(), targets[0].topic, targets[0].partition, targets[0].leader_id,
                           targets[0].leader_epoch);
}

void ReplicaFetcherManager::remove_partitions(const std::vector<std::pair<std::string, int32_t>>& partitions) {
  std::lock_guard lock(impl_->mu);
  for (const auto& key : partitions) impl_->remove_locked(key);
}

void ReplicaFetcherManager::shutdown() {
  std::map<std::pair<int32_t, int32_t>, std::unique_ptr<ReplicaFetcherThread>> fetchers;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopped = true;
    fetchers.swap(impl_->fetchers);
    impl_->owner.clear();
  }
  // Each stop closes the fetcher's client first, so its in-flight fetch is
  // abandoned at once rather than waited for.
  for (auto& [id, f] : fetchers) f->shutdown();
  fetchers.clear();
}

size_t ReplicaFetcherManager::partition_count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->owner.size();
}

}  // namespace samsa::broker::replica
