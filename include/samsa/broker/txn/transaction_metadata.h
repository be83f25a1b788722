#pragma once
// One transactional id's state at its coordinator (Kafka's
// TransactionMetadata): the producer id and epoch it owns, the state of its
// current transaction and the partitions in it.
//
// Every change is a transition: prepare_*() checks that it is allowed and
// returns the record to write to __transaction_state (the metadata then has
// a pending transition and refuses others with CONCURRENT_TRANSACTIONS);
// complete() applies it once the write is replicated, abort_pending() drops
// it when the write failed. Nothing changes in memory before the log has it.
//
// Threading: none; the coordinator guards each metadata with its own lock.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "samsa/protocol/error_code.h"

namespace samsa::broker::txn {

// Kafka's TransactionState ids (they are written to the log).
enum class TxnState : int8_t {
  kEmpty = 0,
  kOngoing = 1,
  kPrepareCommit = 2,
  kPrepareAbort = 3,
  kCompleteCommit = 4,
  kCompleteAbort = 5,
  kDead = 6,
  kPrepareEpochFence = 7,  // in memory only: written as PrepareAbort
};

std::string_view state_name(TxnState s);  // "Ongoing", ... (DescribeTransactions, ListTransactions)
std::optional<TxnState> state_from_name(std::string_view name);
std::optional<TxnState> state_from_id(int8_t id);

using TopicPartition = std::pair<std::string, int32_t>;

inline constexpr int64_t kNoProducerId = -1;
inline constexpr int16_t kNoProducerEpoch = -1;

// What __transaction_state holds for an id (TransactionLogValue).
struct TxnRecord {
  int64_t producer_id = kNoProducerId;
  int64_t previous_producer_id = kNoProducerId;
  int64_t next_producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  int32_t txn_timeout_ms = 0;
  TxnState state = TxnState::kEmpty;
  std::set<TopicPartition> partitions;
  int64_t txn_start_timestamp_ms = -1;
  int64_t txn_last_update_timestamp_ms = -1;
  int16_t client_txn_version = 0;
};

// The result of a prepare: the record to write, or why not.
struct TxnTransition {
  protocol::ErrorCode error = protocol::ErrorCode::NONE;
  TxnRecord target;
  bool ok() const { return error == protocol::ErrorCode::NONE; }
};

class TransactionMetadata {
 public:
  TransactionMetadata(std::string transactional_id, TxnRecord record)
      : id_(std::move(transactional_id)), current_(std::move(record)) {}

  const std::string& transactional_id() const { return id_; }
  const TxnRecord& current() const { return current_; }
  TxnState state() const { return current_.state; }
  int64_t producer_id() const { return current_.producer_id; }
  int16_t producer_epoch() const { return current_.producer_epoch; }
  // The epoch before the last InitProducerId bump (KIP-360: a retry of that
  // InitProducerId gets the same answer); -1 after a fencing bump or a new id.
  int16_t last_producer_epoch() const { return last_producer_epoch_; }
  bool has_pending() const { return pending_.has_value(); }
  const std::optional<TxnRecord>& pending() const { return pending_; }

  // InitProducerId: a new epoch for the same producer id, or a new id
  // (`new_producer_id` >= 0) with epoch 0 when the epoch is exhausted.
  // Allowed from Empty, CompleteCommit, CompleteAbort.
  TxnTransition prepare_init(int64_t new_producer_id, int32_t txn_timeout_ms, int64_t now_ms);
  // Whether the epoch is at its end (Kafka starts a new producer id then).
  bool epoch_exhausted() const;
  // Adds partitions (AddPartitionsToTxn, AddOffsetsToTxn, or the implicit
  // add of transactions v2): Ongoing, starting a transaction from Empty /
  // CompleteCommit / CompleteAbort. `client_txn_version` is recorded (2: the
  // transaction ends with an epoch bump).
  TxnTransition prepare_add_partitions(const std::set<TopicPartition>& partitions, int64_t now_ms,
                                       int16_t client_txn_version = 0);
  // EndTxn or a timeout: PrepareCommit / PrepareAbort from Ongoing (and,
  // for transactions v2, PrepareAbort from Empty / CompleteX: an abort that
  // only bumps the epoch). `bump_epoch` (timeouts, fencing, every v2 end)
  // raises the epoch so the producer's older writes are fenced. A bump to
  // the last epoch needs `next_producer_id` (>= 0): the markers go out at
  // that epoch and the completion moves the id to the new producer id at
  // epoch 0 (KIP-890 part 2).
  TxnTransition prepare_end(bool commit, bool bump_epoch, int64_t now_ms, int64_t next_producer_id = kNoProducerId);
  // Whether a bump of the current epoch reaches the last one (a v2 end then
  // needs a new producer id).
  bool bump_needs_new_producer_id() const;
  // The markers are written: CompleteCommit / CompleteAbort, no partitions
  // (and the next producer id, if the end prepared one).
  TxnTransition prepare_complete(int64_t now_ms);
  // transactional.id.expiration.ms: Dead (a tombstone is written).
  TxnTransition prepare_dead(int64_t now_ms);

  // The prepared transition's write succeeded: it becomes the state.
  void complete();
  // The write failed: the state stays as it was.
  void abort_pending() { pending_.reset(); }
  // Replaying the log on load.
  void replace(TxnRecord record) { current_ = std::move(record); }

 private:
  TxnTransition begin(TxnRecord target);

  std::string id_;
  TxnRecord current_;
  std::optional<TxnRecord> pending_;
  bool pending_is_init_ = false;  // the pending transition is an InitProducerId
  int16_t last_producer_epoch_ = kNoProducerEpoch;
};

// Whether `to` may follow `from` (Kafka's TransactionState.validPreviousStates).
bool valid_transition(TxnState from, TxnState to);

}  // namespace samsa::broker::txn
