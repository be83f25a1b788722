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

  // Replays __consumer_offsets-<partition> from its log start up to its log
  // end (not its high watermark: a new leader's high watermark can lag what
  // the old leader had acknowledged, and a leader never truncates its own
  // log, so everything up to the log end becomes committed), in offset
  // order, calling `apply` for each record this
  // coordinator owns (control batches and foreign keys are skipped; a
  // record that fails to decode is logged and skipped). Returns the number
  // of records applied; throws std::runtime_error if the log is not hosted.
  size_t load(int32_t partition, const std::function<void(CoordinatorRecord&&)>& apply);

 private:
  BrokerServices& services_;
  int32_t commit_timeout_ms_;
};

}  // namespace samsa::broker::group
