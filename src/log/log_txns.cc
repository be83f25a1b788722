// The Log's side of transactions (Kafka's UnifiedLog + ProducerStateManager
// bookkeeping): which transactions hold the last stable offset back, the
// .txnindex entries of aborted ones, the lookups of read_committed fetches,
// and KIP-890's verification guards. Writers hold the append lock; the
// transaction maps the last stable offset reads sit under the state lock.
#include <algorithm>
#include <limits>

#include "samsa/log/log.h"
#include "samsa/util/logging.h"

namespace samsa::log {

void Log::track_txns_locked(ProducerAppendUpdates& updates) {
  if (updates.started.empty() && updates.completed.empty()) return;
  std::vector<AbortedTxn> aborted;
  {
    std::lock_guard lock(state_mu_);
    for (const auto& t : updates.started) ongoing_txns_[t.first_offset] = t.producer_id;
    for (const auto& c : updates.completed) {
      // Kafka's lastStableOffset(completedTxn): the first transaction of
      // another producer still open, else just past this marker.
      int64_t lso = c.last_offset + 1;
      for (const auto& [first, pid] : ongoing_txns_) {
        if (pid != c.producer_id) {
          lso = first;
          break;
        }
      }
      auto it = ongoing_txns_.find(c.first_offset);
      if (it != ongoing_txns_.end() && it->second == c.producer_id) ongoing_txns_.erase(it);
      if (c.last_offset >= high_watermark_) unreplicated_txns_.push_back(c);
      if (c.aborted) aborted.push_back(AbortedTxn{c.producer_id, c.first_offset, c.last_offset, lso});
    }
  }
  // A marker ends whatever a verification started for its producer: a write
  // verified before it must not open a new transaction after it.
  for (const auto& c : updates.completed) verification_guards_.erase(c.producer_id);
  for (const auto& t : aborted) {
    std::shared_ptr<LogSegment> seg;
    {
      std::lock_guard lock(state_mu_);
      auto it = segments_.upper_bound(t.last_offset);
      if (it == segments_.begin()) continue;
      seg = std::prev(it)->second;
    }
    const bool existed = file_exists(seg->txn_index().path());
    seg->txn_index().append(t);
    if (!existed) dir_entries_unsynced_.store(true);
  }
  updates.started.clear();
  updates.completed.clear();
}

void Log::reset_txns_locked() {
  std::lock_guard lock(state_mu_);
  ongoing_txns_.clear();
  unreplicated_txns_.clear();
  for (const auto& t : producers_->ongoing_txns()) ongoing_txns_[t.first_offset] = t.producer_id;
}

void Log::prune_replicated_txns_locked() {
  std::erase_if(unreplicated_txns_, [this](const CompletedTxn& c) { return c.last_offset < high_watermark_; });
}

int64_t Log::last_stable_offset_locked() const {
  int64_t first = std::numeric_limits<int64_t>::max();
  if (!ongoing_txns_.empty()) first = ongoing_txns_.begin()->first;
  for (const auto& c : unreplicated_txns_)
    if (c.last_offset >= high_watermark_) first = std::min(first, c.first_offset);
  return std::max(log_start_offset_, std::min(first, high_watermark_));
}

int64_t Log::last_stable_offset() const {
  std::lock_guard lock(state_mu_);
  return last_stable_offset_locked();
}

std::vector<AbortedTxn> Log::collect_aborted_transactions(int64_t start, int64_t upper) const {
  std::vector<std::shared_ptr<LogSegment>> segs;
  {
    std::lock_guard lock(state_mu_);
    auto it = segments_.upper_bound(start);
    if (it != segments_.begin()) --it;
    for (; it != segments_.end(); ++it) segs.push_back(it->second);
  }
  std::vector<AbortedTxn> out;
  for (const auto& seg : segs) {
    bool complete = false;
    auto found = seg->txn_index().collect(start, upper, complete);
    out.insert(out.end(), found.begin(), found.end());
    if (complete) break;
  }
  return out;
}

bool Log::has_ongoing_txn(int64_t producer_id) const {
  std::lock_guard lock(append_mu_);
  const ProducerStateEntry* e = producers_->find(producer_id);
  return e != nullptr && e->current_txn_first_offset >= 0;
}

bool Log::has_ongoing_txn(int64_t producer_id, int16_t producer_epoch) const {
  std::lock_guard lock(append_mu_);
  const ProducerStateEntry* e = producers_->find(producer_id);
  return e != nullptr && e->current_txn_first_offset >= 0 && e->producer_epoch == producer_epoch;
}

uint64_t Log::start_txn_verification(int64_t producer_id) {
  std::lock_guard lock(append_mu_);
  auto [it, inserted] = verification_guards_.try_emplace(producer_id, 0);
  // Concurrent verifications of one producer (several in-flight batches of
  // the same new transaction) share the guard until a marker comes.
  if (inserted) it->second = next_verification_guard_++;
  return it->second;
}

std::optional<LogError> Log::check_verification_locked(const ProducerAppendUpdates& updates,
                                                       std::optional<uint64_t> guard) const {
  if (!guard) return std::nullopt;
  for (const auto& t : updates.started) {
    auto it = verification_guards_.find(t.producer_id);
    if (it == verification_guards_.end() || it->second != *guard)
      return log_error(LogErrc::kInvalidTxnState,
                       "Transactional batch of producer " + std::to_string(t.producer_id) + " to " +
                           tp_.dir_name() + " was not verified with its coordinator, or its transaction ended since");
  }
  return std::nullopt;
}

}  // namespace samsa::log
