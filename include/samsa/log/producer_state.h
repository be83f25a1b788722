#pragma once
// Idempotent producer state of one partition, Kafka's ProducerStateManager:
// per producer id the epoch and the sequence/offset ranges of its last five
// batches, so that a retried batch is answered with its original offsets
// instead of being written twice, and a gap or a fenced epoch is refused.
//
// The Log owns one and uses it under its append lock only; nothing here
// locks. Snapshots ("<offset>.snapshot", producer_snapshot.h) hold the state
// as of an offset; the Log takes them on roll and clean close and replays
// the log tail past the latest one after an unclean stop.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "samsa/log/batch_validator.h"
#include "samsa/log/log_error.h"
#include "samsa/log/producer_snapshot.h"
#include "samsa/protocol/control_records.h"
#include "samsa/protocol/record_batch.h"

namespace samsa::log {

inline constexpr int64_t kNoProducerId = -1;
inline constexpr int16_t kNoProducerEpoch = -1;
inline constexpr int32_t kNoSequence = -1;
// Kafka's NUM_BATCHES_TO_RETAIN: as many as a producer may have in flight.
inline constexpr size_t kRetainedProducerBatches = 5;

// Sequences wrap from INT32_MAX to 0 (DefaultRecordBatch.incrementSequence).
int32_t increment_sequence(int32_t sequence, int32_t increment);
int32_t decrement_sequence(int32_t sequence, int32_t decrement);
int32_t last_sequence_of(const protocol::RecordBatchHeader& h);

// Kafka's BatchMetadata: one written batch of a producer.
struct ProducerBatch {
  int32_t last_seq = kNoSequence;
  int64_t last_offset = -1;
  int32_t offset_delta = 0;  // last_offset - first offset
  int64_t timestamp = -1;    // the batch's max timestamp
  int32_t first_seq() const { return decrement_sequence(last_seq, offset_delta); }
  int64_t first_offset() const { return last_offset - offset_delta; }
  bool operator==(const ProducerBatch&) const = default;
};

struct ProducerStateEntry {
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  int32_t coordinator_epoch = -1;
  int64_t last_timestamp = -1;
  // The first offset of the producer's ongoing transaction on this
  // partition (Kafka's currentTxnFirstOffset); -1 when none is open.
  int64_t current_txn_first_offset = -1;

  bool empty() const { return batch_count_ == 0; }
  size_t batch_count() const { return batch_count_; }
  // Oldest first.
  const ProducerBatch& batch(size_t i) const { return batches_[i]; }
  int32_t last_seq() const { return empty() ? kNoSequence : batches_[batch_count_ - 1].last_seq; }
  int64_t last_offset() const { return empty() ? -1 : batches_[batch_count_ - 1].last_offset; }

  // A retained batch of `epoch` with exactly this sequence range.
  std::optional<ProducerBatch> find_batch(int16_t epoch, int32_t first_seq, int32_t last_seq) const;
  // A new epoch forgets the batches of the old one.
  void set_epoch(int16_t epoch);
  void add_batch(int16_t epoch, const ProducerBatch& batch);
  void clear_batches() { batch_count_ = 0; }

 private:
  std::array<ProducerBatch, kRetainedProducerBatches> batches_{};
  size_t batch_count_ = 0;
};

// A transaction a COMMIT/ABORT marker ended (Kafka's CompletedTxn): from
// its first data batch here (the marker's own offset if it had none) to the
// marker's offset.
struct CompletedTxn {
  int64_t producer_id = kNoProducerId;
  int64_t first_offset = -1;
  int64_t last_offset = -1;  // the marker
  bool aborted = false;
  bool operator==(const CompletedTxn&) const = default;
};

// A transaction open on this partition: its producer and first offset.
struct OngoingTxn {
  int64_t producer_id = kNoProducerId;
  int64_t first_offset = -1;
  bool operator==(const OngoingTxn&) const = default;
};

// The checked changes of one append, applied once the bytes are written
// (Kafka's ProducerAppendInfo, for every producer in the append).
struct ProducerAppendUpdates {
  std::vector<ProducerStateEntry> entries;  // one per producer id
  // Transactions this append opens and ends, in append order. apply()
  // leaves them for the Log (last stable offset, .txnindex).
  std::vector<OngoingTxn> started;
  std::vector<CompletedTxn> completed;
  bool empty() const { return entries.empty(); }
};

class ProducerStateManager {
 public:
  // `name` is for messages (the partition's dir name).
  ProducerStateManager(std::string dir, std::string name, int64_t producer_id_expiration_ms);

  // --- appends ---
  // A client batch that repeats one of its producer's retained batches (same
  // epoch, same sequence range): the original, to answer with its offsets.
  std::optional<ProducerBatch> find_duplicate(const protocol::RecordBatchHeader& h) const;
  // Checks `h` (offsets assigned, producer id set) against the state and the
  // earlier batches of the same append, and stages it in `updates`. Client
  // appends get the sequence checks; only replication accepts an old epoch.
  // A transactional data batch opens the producer's transaction if none is
  // open; a control batch whose record is `marker` (COMMIT/ABORT) ends it,
  // refused when its coordinator epoch is older than the last one seen
  // (unless replicated). Errors: kInvalidProducerEpoch, kOutOfOrderSequence,
  // kInvalidTxnState (a plain batch inside an open transaction),
  // kTransactionCoordinatorFenced.
  std::optional<LogError> check_and_stage(const protocol::RecordBatchHeader& h, AppendOrigin origin,
                                          ProducerAppendUpdates& updates,
                                          const protocol::EndTxnMarker* marker = nullptr) const;
  // Applies what was staged; `end_offset` is the log end after the append.
  // updates.started / completed stay for the caller.
  void apply(ProducerAppendUpdates& updates, int64_t end_offset);
  // The open transactions, by first offset.
  std::vector<OngoingTxn> ongoing_txns() const;
  // The state covers the log below this offset.
  int64_t map_end_offset() const { return map_end_offset_; }
  void set_map_end_offset(int64_t offset) { map_end_offset_ = offset; }

  // --- expiry (producer.id.expiration.ms, from the batches' timestamps) ---
  void set_expiration_ms(int64_t ms) { expiration_ms_ = ms; }
  size_t remove_expired(int64_t now_ms);

  // --- snapshots ---
  // Writes "<end_offset>.snapshot" unless the latest snapshot is already
  // there. Throws std::system_error if the file cannot be written.
  // `sync` false: see write_producer_snapshot.
  void take_snapshot(int64_t end_offset, bool sync = true);
  std::optional<int64_t> latest_snapshot_offset() const;
  // Forgets the state and loads the newest readable snapshot at or below
  // `max_offset` (newer snapshots and unreadable ones are deleted), dropping
  // expired producers. Returns its offset; the caller replays the log from
  // there to `max_offset`. nullopt (state empty) if there is none.
  std::optional<int64_t> reload(int64_t max_offset, int64_t now_ms);
  // Segment deletion: the snapshot at a deleted segment's base goes with it.
  void delete_snapshot(int64_t offset);
  void delete_snapshots_above(int64_t offset);

  // --- introspection ---
  std::vector<ProducerStateEntry> active_producers() const;
  const ProducerStateEntry* find(int64_t producer_id) const;

 private:
  bool expired(const ProducerStateEntry& e, int64_t now_ms) const;

  const std::string dir_;
  const std::string name_;
  int64_t expiration_ms_;
  std::map<int64_t, ProducerStateEntry> producers_;
  int64_t map_end_offset_ = 0;
  std::optional<int64_t> last_snapshot_offset_;
};

}  // namespace samsa::log
