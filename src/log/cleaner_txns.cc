// Transactions in a compaction pass (cleaner_txns.h).
#include "cleaner_txns.h"

namespace samsa::log {

CleanerTxns::CleanerTxns(const std::vector<AbortedTxn>& aborted) {
  for (const auto& t : aborted) aborted_[t.producer_id].push_back(t);
}

bool CleanerTxns::aborted(const protocol::RecordBatchHeader& h) const {
  if (!h.is_transactional() || h.is_control()) return false;
  auto it = aborted_.find(h.producer_id);
  if (it == aborted_.end()) return false;
  for (const auto& t : it->second)
    if (t.first_offset <= h.base_offset && h.base_offset <= t.last_offset) return true;
  return false;
}

void CleanerTxns::on_data_batch(const protocol::RecordBatchHeader& h) {
  if (!h.is_transactional() || h.is_control()) return;
  if (aborted(h)) aborted_seen_.insert(h.producer_id);
  else committed_seen_.insert(h.producer_id);
}

bool CleanerTxns::marker_removable(const protocol::RecordBatchHeader& h, const protocol::EndTxnMarker& m) {
  const bool seen = m.commit ? committed_seen_.erase(h.producer_id) > 0 : aborted_seen_.erase(h.producer_id) > 0;
  return !seen;
}

std::optional<AbortedTxn> CleanerTxns::index_entry(int64_t producer_id, int64_t marker_offset) const {
  auto it = aborted_.find(producer_id);
  if (it == aborted_.end()) return std::nullopt;
  for (const auto& t : it->second)
    if (t.last_offset == marker_offset) return t;
  return std::nullopt;
}

}  // namespace samsa::log
