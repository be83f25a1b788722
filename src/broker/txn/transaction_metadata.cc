// The transitions of a transactional id's state, with the checks Kafka's
// TransactionMetadata makes before it writes one.
#include "samsa/broker/txn/transaction_metadata.h"

#include <array>
#include <limits>

namespace samsa::broker::txn {

using protocol::ErrorCode;

namespace {

constexpr std::array<std::string_view, 8> kNames = {"Empty",          "Ongoing",       "PrepareCommit", "PrepareAbort",
                                                    "CompleteCommit", "CompleteAbort", "Dead",          "PrepareEpochFence"};

// Kafka bumps to at most Short.MAX_VALUE - 1; the last epoch is kept for
// the fencing bump of an ongoing transaction.
constexpr int16_t kMaxEpoch = std::numeric_limits<int16_t>::max();

bool one_of(TxnState s, std::initializer_list<TxnState> set) {
  for (auto x : set)
    if (x == s) return true;
  return false;
}

}  // namespace

std::string_view state_name(TxnState s) { return kNames[static_cast<size_t>(s)]; }

std::optional<TxnState> state_from_name(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<TxnState>(i);
  return std::nullopt;
}

std::optional<TxnState> state_from_id(int8_t id) {
  if (id < 0 || id >= static_cast<int8_t>(kNames.size())) return std::nullopt;
  return static_cast<TxnState>(id);
}

bool valid_transition(TxnState from, TxnState to) {
  using S = TxnState;
  switch (to) {
    case S::kEmpty:
      return one_of(from, {S::kEmpty, S::kCompleteCommit, S::kCompleteAbort});
    case S::kOngoing:
      return one_of(from, {S::kOngoing, S::kEmpty, S::kCompleteCommit, S::kCompleteAbort});
    case S::kPrepareCommit:
      return from == S::kOngoing;
    case S::kPrepareAbort:
      // Empty / CompleteX: a transactions v2 abort that only bumps the epoch.
      return one_of(from, {S::kOngoing, S::kPrepareEpochFence, S::kEmpty, S::kCompleteCommit, S::kCompleteAbort});
    case S::kCompleteCommit:
      return from == S::kPrepareCommit;
    case S::kCompleteAbort:
      return from == S::kPrepareAbort;
    case S::kDead:
      return one_of(from, {S::kEmpty, S::kCompleteCommit, S::kCompleteAbort});
    case S::kPrepareEpochFence:
      return from == S::kOngoing;
  }
  return false;
}

TxnTransition TransactionMetadata::begin(TxnRecord target) {
  if (pending_) return {ErrorCode::CONCURRENT_TRANSACTIONS, {}};
  if (!valid_transition(current_.state, target.state)) return {ErrorCode::INVALID_TXN_STATE, {}};
  pending_ = target;
  pending_is_init_ = false;
  return {ErrorCode::NONE, std::move(target)};
}

bool TransactionMetadata::epoch_exhausted() const { return current_.producer_epoch >= kMaxEpoch - 1; }

TxnTransition TransactionMetadata::prepare_init(int64_t new_producer_id, int32_t txn_timeout_ms, int64_t now_ms) {
  TxnRecord t = current_;
  if (new_producer_id >= 0) {
    t.previous_producer_id = current_.producer_id;
    t.producer_id = new_producer_id;
    t.producer_epoch = 0;
  } else {
    if (epoch_exhausted()) return {ErrorCode::INVALID_PRODUCER_EPOCH, {}};
    t.producer_epoch = static_cast<int16_t>(current_.producer_epoch + 1);
  }
  t.next_producer_id = kNoProducerId;
  t.txn_timeout_ms = txn_timeout_ms;
  t.state = TxnState::kEmpty;
  t.partitions.clear();
  t.txn_start_timestamp_ms = -1;
  t.txn_last_update_timestamp_ms = now_ms;
  auto out = begin(std::move(t));
  if (out.ok()) pending_is_init_ = true;
  return out;
}

TxnTransition TransactionMetadata::prepare_add_partitions(const std::set<TopicPartition>& partitions,
                                                          int64_t now_ms, int16_t client_txn_version) {
  TxnRecord t = current_;
  if (t.state != TxnState::kOngoing) {
    t.partitions.clear();  // a new transaction
    t.txn_start_timestamp_ms = now_ms;
    t.client_txn_version = client_txn_version;
  }
  t.state = TxnState::kOngoing;
  t.partitions.insert(partitions.begin(), partitions.end());
  t.txn_last_update_timestamp_ms = now_ms;
  return begin(std::move(t));
}

bool TransactionMetadata::bump_needs_new_producer_id() const { return current_.producer_epoch + 1 >= kMaxEpoch; }

TxnTransition TransactionMetadata::prepare_end(bool commit, bool bump_epoch, int64_t now_ms,
                                               int64_t next_producer_id) {
  TxnRecord t = current_;
  const bool was_idle = t.state != TxnState::kOngoing && t.state != TxnState::kPrepareEpochFence;
  t.state = commit ? TxnState::kPrepareCommit : TxnState::kPrepareAbort;
  if (was_idle) {  // a v2 abort with nothing in it
    t.partitions.clear();
    t.txn_start_timestamp_ms = now_ms;
  }
  if (bump_epoch && t.producer_epoch < kMaxEpoch) t.producer_epoch = static_cast<int16_t>(t.producer_epoch + 1);
  t.next_producer_id = next_producer_id;
  t.txn_last_update_timestamp_ms = now_ms;
  return begin(std::move(t));
}

TxnTransition TransactionMetadata::prepare_complete(int64_t now_ms) {
  TxnRecord t = current_;
  if (t.state == TxnState::kPrepareCommit)
    t.state = TxnState::kCompleteCommit;
  else if (t.state == TxnState::kPrepareAbort)
    t.state = TxnState::kCompleteAbort;
  else
    return {ErrorCode::INVALID_TXN_STATE, {}};
  if (t.next_producer_id != kNoProducerId) {  // the epochs of this id ran out (v2): the next id takes over
    t.previous_producer_id = t.producer_id;
    t.producer_id = t.next_producer_id;
    t.producer_epoch = 0;
    t.next_producer_id = kNoProducerId;
  }
  t.partitions.clear();
  t.txn_last_update_timestamp_ms = now_ms;
  return begin(std::move(t));
}

TxnTransition TransactionMetadata::prepare_dead(int64_t now_ms) {
  TxnRecord t = current_;
  t.state = TxnState::kDead;
  t.partitions.clear();
  t.txn_last_update_timestamp_ms = now_ms;
  return begin(std::move(t));
}

void TransactionMetadata::complete() {
  if (!pending_) return;
  // As Kafka: an InitProducerId bump remembers the epoch it replaced (for
  // its retries); a fencing bump (timeout, new instance) forgets it, so the
  // fenced producer cannot come back as a "retry"; a new id starts afresh.
  if (pending_->producer_id != current_.producer_id)
    last_producer_epoch_ = kNoProducerEpoch;
  else if (pending_is_init_)
    last_producer_epoch_ = current_.producer_epoch;
  else if (pending_->producer_epoch != current_.producer_epoch)
    last_producer_epoch_ = kNoProducerEpoch;
  current_ = std::move(*pending_);
  pending_.reset();
}

}  // namespace samsa::broker::txn
