#pragma once
// How the transaction coordinator gets COMMIT/ABORT markers written (Kafka's
// TransactionMarkerChannelManager): once a transaction is PrepareCommit or
// PrepareAbort in __transaction_state, a marker goes to the leader of every
// partition of the transaction (WriteTxnMarkers), retried until each leader
// has it; then the coordinator writes CompleteCommit / CompleteAbort.
//
// Threading: send() and abandon() are safe from any thread and never block;
// `done` runs exactly once, on any thread, with no lock of the sender held.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace samsa::broker::txn {

struct TxnMarkerJob {
  std::string transactional_id;  // for log lines only
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;   // the epoch the markers carry
  // The coordinator's epoch: the leader epoch of the __transaction_state
  // partition it loaded the transaction from. Partitions refuse markers of
  // an older one (TRANSACTION_COORDINATOR_FENCED).
  int32_t coordinator_epoch = -1;
  int32_t txn_partition = -1;    // that __transaction_state partition
  bool commit = false;           // COMMIT, else ABORT
  std::vector<std::pair<std::string, int32_t>> partitions;  // (topic, partition)
};

enum class TxnMarkerOutcome {
  kWritten,    // every partition has the marker (or no longer exists)
  kAbandoned,  // the coordinator stopped leading txn_partition, or was fenced
};

class TxnMarkerSender {
 public:
  virtual ~TxnMarkerSender() = default;
  // Writes the job's markers; retriable errors (NOT_LEADER_OR_FOLLOWER,
  // unknown leader, connection loss, ...) are retried with a backoff until
  // the partition's leader has it; a partition whose topic was deleted
  // counts as written. `done` runs once at the end.
  virtual void send(TxnMarkerJob job, std::function<void(TxnMarkerOutcome)> done) = 0;
  // The coordinator no longer leads `txn_partition`: its pending jobs end
  // with kAbandoned (the new coordinator resends them after loading).
  virtual void abandon(int32_t txn_partition) = 0;
};

}  // namespace samsa::broker::txn
