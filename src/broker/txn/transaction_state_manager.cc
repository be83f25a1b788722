// Which __transaction_state partitions are loaded here, their ids, and the
// write-then-apply step every transition goes through.
#include "samsa/broker/txn/transaction_state_manager.h"

#include <chrono>
#include <set>

#include "samsa/broker/group/coordinator_records.h"
#include "samsa/util/logging.h"

namespace samsa::broker::txn {

using protocol::ErrorCode;

namespace {
const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.coordinator.transaction.TransactionStateManager");
  return l;
}
}  // namespace

TransactionStateManager::TransactionStateManager(TxnLogStore& store, int32_t num_partitions)
    : store_(store), num_partitions_(num_partitions) {}

TransactionStateManager::~TransactionStateManager() = default;

int32_t TransactionStateManager::partition_for(const std::string& transactional_id) const {
  // Kafka's Utils.abs(transactionalId.hashCode) % partitions: the same
  // String.hashCode the group coordinator uses.
  return group::partition_for(transactional_id, num_partitions_);
}

void TransactionStateManager::set_leadership(const std::map<int32_t, int32_t>& led) {
  std::vector<std::tuple<int32_t, int32_t, uint64_t>> to_load;
  std::vector<int32_t> dropped;
  {
    std::lock_guard lock(mu_);
    for (auto it = partitions_.begin(); it != partitions_.end();) {
      auto now_led = led.find(it->first);
      if (now_led == led.end() || now_led->second != it->second.coordinator_epoch) {
        dropped.push_back(it->first);
        it = partitions_.erase(it);
      } else {
        ++it;
      }
    }
    if (!dropped.empty()) {
      std::set<int32_t> gone(dropped.begin(), dropped.end());
      for (auto it = ids_.begin(); it != ids_.end();)
        it = gone.count(partition_for(it->first)) ? ids_.erase(it) : std::next(it);
    }
    for (const auto& [p, epoch] : led) {
      if (partitions_.count(p)) continue;
      Partition& part = partitions_[p];
      part.coordinator_epoch = epoch;
      part.load_id = ++next_load_id_;
      to_load.emplace_back(p, epoch, part.load_id);
    }
  }
  for (int32_t p : dropped) {
    log()->debug("Unloaded transaction metadata of partition {} of __transaction_state", p);
    if (on_unloaded) on_unloaded(p);
  }
  for (auto [p, epoch, id] : to_load)
    loader_.submit([this, p = p, epoch = epoch, id = id] { load(p, epoch, id); });
}

void TransactionStateManager::load(int32_t partition, int32_t coordinator_epoch, uint64_t load_id) {
  auto is_current = [&] {
    auto it = partitions_.find(partition);
    return it != partitions_.end() && it->second.load_id == load_id;
  };
  {
    std::lock_guard lock(mu_);
    if (!is_current()) return;
  }
  const auto started = std::chrono::steady_clock::now();
  std::map<std::string, std::optional<TxnRecord>> latest;  // the last record of each id wins
  try {
    store_.load(partition, [&](DecodedTxnRecord&& r) { latest[r.transactional_id] = std::move(r.record); });
  } catch (const std::exception& e) {
    // The partition stays "loading": clients retry and the next leadership
    // change loads it again.
    log()->error("Loading partition {} of __transaction_state failed: {}", partition, e.what());
    return;
  }
  size_t count = 0;
  {
    std::lock_guard lock(mu_);
    if (!is_current()) return;
    for (auto& [id, record] : latest) {
      if (!record || record->state == TxnState::kDead) continue;
      ids_[id] = std::make_unique<TransactionMetadata>(id, std::move(*record));
      ++count;
    }
    partitions_[partition].loaded = true;
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  // Empty partitions (49 of 50 on a fresh cluster) only at debug level.
  log()->log(count > 0 ? spdlog::level::info : spdlog::level::debug,
             "Finished loading {} transaction metadata from partition {} of __transaction_state "
             "(coordinator epoch {}) in {} ms",
             count, partition, coordinator_epoch, ms);
  if (on_loaded) on_loaded(partition, coordinator_epoch);
}

TransactionStateManager::Lookup TransactionStateManager::lookup(const std::string& transactional_id) const {
  Lookup out;
  out.partition = partition_for(transactional_id);
  auto p = partitions_.find(out.partition);
  if (p == partitions_.end()) {
    out.error = ErrorCode::NOT_COORDINATOR;
    return out;
  }
  if (!p->second.loaded) {
    out.error = ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
    return out;
  }
  out.coordinator_epoch = p->second.coordinator_epoch;
  auto it = ids_.find(transactional_id);
  if (it != ids_.end()) out.metadata = it->second.get();
  return out;
}

TransactionMetadata* TransactionStateManager::insert(const std::string& transactional_id, TxnRecord record) {
  auto& slot = ids_[transactional_id];
  if (!slot) slot = std::make_unique<TransactionMetadata>(transactional_id, std::move(record));
  return slot.get();
}

void TransactionStateManager::erase(const std::string& transactional_id) { ids_.erase(transactional_id); }

void TransactionStateManager::for_each(const std::function<void(TransactionMetadata&, int32_t, int32_t)>& fn) {
  for (auto& [id, m] : ids_) {
    const int32_t p = partition_for(id);
    auto part = partitions_.find(p);
    if (part == partitions_.end() || !part->second.loaded) continue;
    fn(*m, p, part->second.coordinator_epoch);
  }
}

bool TransactionStateManager::still_coordinating(int32_t partition, int32_t coordinator_epoch) const {
  auto p = partitions_.find(partition);
  return p != partitions_.end() && p->second.loaded && p->second.coordinator_epoch == coordinator_epoch;
}

bool TransactionStateManager::any_loading() const {
  for (const auto& [_, p] : partitions_)
    if (!p.loaded) return true;
  return false;
}

void TransactionStateManager::write(const std::string& transactional_id, int32_t coordinator_epoch,
                                    const TxnRecord& target, int64_t timestamp_ms,
                                    std::function<void(ErrorCode)> done) {
  const int32_t partition = partition_for(transactional_id);
  std::optional<TxnRecord> record;
  if (target.state != TxnState::kDead) record = target;
  store_.append(partition, transactional_id, record, timestamp_ms,
                [this, transactional_id, partition, coordinator_epoch, dead = !record,
                 done = std::move(done)](ErrorCode error) {
                  {
                    std::lock_guard lock(mu_);
                    auto it = ids_.find(transactional_id);
                    if (!still_coordinating(partition, coordinator_epoch)) {
                      // Dropped or reloaded meanwhile: the new owner has what the log has.
                      error = ErrorCode::NOT_COORDINATOR;
                    } else if (it != ids_.end()) {
                      if (error == ErrorCode::NONE) {
                        it->second->complete();
                        if (dead) ids_.erase(it);
                      } else {
                        it->second->abort_pending();
                      }
                    }
                  }
                  done(error);
                });
}

}  // namespace samsa::broker::txn
