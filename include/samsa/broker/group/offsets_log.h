#pragma once
// Reads and writes coordinator records in the partitions of
// __consumer_offsets that this broker hosts. The group coordinator decides
// what to write; this class turns records into batches (compressed with
// offsets.topic.compression.codec), appends them as the partition leader
// with acks=-1 semantics (the write counts once the ISR has it, or fails),
// and replays a partition's records when the coordinator loads it.
//
// Threading: append() may be called from any thread and may run `done`
// before it returns (on the caller's thread) or later on another thread;
// callers must not hold a lock `done` takes. load() blocks on file reads and
// belongs on the coordinator's loader thread.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "samsa/broker/group/coordinator_records.h"
#include "samsa/protocol/error_code.h"

namespace samsa::broker {
struct BrokerServices;
}

namespace samsa::broker::group {

inline constexpr const char* kOffsetsTopic = "__consumer_offsets";

// How a coordinator write ended: `error` is already the code a coordinator
// answers with (GroupCoordinatorService.normalizeException's mapping);
// `last_offset` is the offset of the write's last record when it succeeded
// (-1 for an empty write), so concurrent writes can be ordered.
struct AppendOutcome {
  protocol::ErrorCode error = protocol::ErrorCode::NONE;
  int64_t last_offset = -1;
};
using AppendDone = std::function<void(AppendOutcome)>;

// What a coordinator answers for an error of a write to its partition
// (Kafka's GroupCoordinatorService.normalizeException): retriable
// replication trouble is COORDINATOR_NOT_AVAILABLE, a partition no longer
// led here NOT_COORDINATOR; other codes pass through.
protocol::ErrorCode coordinator_error(protocol::ErrorCode e);

// offsets.commit.timeout.ms: how long a write waits for the ISR.
inline constexpr int32_t kDefaultCommitTimeoutMs = 5000;

class OffsetsLog {
 public:
  explicit OffsetsLog(BrokerServices& services, int32_t commit_timeout_ms = kDefaultCommitTimeoutMs)
      : services_(services), commit_timeout_ms_(commit_timeout_ms) {}

  // Appends `records` to __consumer_offsets-<partition> as one batch, with
  // the given timestamp, and calls `done` once the write is replicated to the
  // ISR (acks=-1) or failed. Errors as a coordinator answers them:
  // NOT_COORDINATOR when this broker does not lead the partition (or the
  // topic does not exist, or the log failed); COORDINATOR_NOT_AVAILABLE when
  // the ISR is too small or the write timed out (the client retries);
  // INVALID_COMMIT_OFFSET_SIZE for a batch the log refuses as too large.
  void append(int32_t partition, std::span<const CoordinatorRecord> records, int64_t timestamp_ms, AppendDone done);
  // The same, as a transactional batch of the producer (TxnOffsetCommit, as
  // Kafka writes it: producer id and epoch, base sequence 0, transactional
  // bit): the records belong to the producer's transaction on this partition
  // and take effect with its COMMIT marker. The log refuses an old epoch
  // (INVALID_PRODUCER_EPOCH) and, when `verification_guard` is set (KIP-890),
  // a batch that would open the transaction without the guard its
  // verification started (INVALID_TXN_STATE); both passed through.
  void append_transactional(int32_t partition, std::span<const CoordinatorRecord> records, int64_t timestamp_ms,
                            int64_t producer_id, int16_t producer_epoch, std::optional<uint64_t> verification_guard,
                            AppendDone done);

  // Replays __consumer_offsets-<partition> from its log start up to its log
  // end (not its high watermark: a new leader's high watermark can lag what
  // the old leader had acknowledged, and a leader never truncates its own
  // log, so everything up to the log end becomes committed), in offset
  // order, calling `apply` for each record this
  // coordinator owns (control batches and foreign keys are skipped; a
  // record that fails to decode is logged and skipped). Returns the number
  // of records applied; throws std::runtime_error if the log is not hosted.
  size_t load(int32_t partition, const std::function<void(CoordinatorRecord&&)>& apply);

  // What load() hands a transactional-aware caller: each record with its
  // offset and, for a record of a transactional batch, its producer id (-1
  // otherwise); each COMMIT/ABORT marker with its producer id and offset.
  struct LoadedRecord {
    CoordinatorRecord record;
    int64_t offset = -1;
    int64_t producer_id = -1;
  };
  struct LoadVisitor {
    std::function<void(LoadedRecord&&)> record;
    std::function<void(int64_t producer_id, bool commit, int64_t offset)> marker;
  };
  // As load() above, with offsets, producer ids and markers; also returns
  // the log end it read up to in `*end` (markers written after it are not
  // replayed).
  size_t load(int32_t partition, const LoadVisitor& visit, int64_t* end = nullptr);

 private:
  void append_batch(int32_t partition, std::span<const CoordinatorRecord> records, int64_t timestamp_ms,
                    int64_t producer_id, int16_t producer_epoch, std::optional<uint64_t> verification_guard,
                    AppendDone done);

  BrokerServices& services_;
  int32_t commit_timeout_ms_;
};

}  // namespace samsa::broker::group
