#pragma once
// What one compaction pass knows about transactions (Kafka's
// CleanedTransactionMetadata). The pass only covers offsets below the last
// stable offset, so every transaction it meets has ended:
//  - records of aborted transactions are dropped (and never enter the
//    offset map);
//  - records of committed ones are cleaned like any others;
//  - a COMMIT/ABORT marker stays while the pass still met data of its
//    transaction (an ABORT marker keeps its .txnindex entry with it), and
//    goes once none is left and it is older than delete.retention.ms, as
//    tombstones do.
// Private to the cleaner (log_cleaner.cc); one per pass, one thread.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "samsa/log/txn_index.h"
#include "samsa/protocol/control_records.h"
#include "samsa/protocol/record_batch.h"

namespace samsa::log {

class CleanerTxns {
 public:
  // The aborted transactions of the cleaned range (Log::collect_aborted_transactions).
  explicit CleanerTxns(const std::vector<AbortedTxn>& aborted);

  // A transactional data batch of an aborted transaction.
  bool aborted(const protocol::RecordBatchHeader& h) const;
  // Each data batch the pass reads, in log order.
  void on_data_batch(const protocol::RecordBatchHeader& h);
  // A marker the pass reads: whether it may be dropped (no data of its
  // transaction met since the producer's previous marker). Resets the
  // producer's tracking either way.
  bool marker_removable(const protocol::RecordBatchHeader& h, const protocol::EndTxnMarker& m);
  // The index entry of the aborted transaction a kept ABORT marker ends.
  std::optional<AbortedTxn> index_entry(int64_t producer_id, int64_t marker_offset) const;

 private:
  std::map<int64_t, std::vector<AbortedTxn>> aborted_;  // by producer id, marker order
  std::set<int64_t> committed_seen_;
  std::set<int64_t> aborted_seen_;
};

}  // namespace samsa::log
