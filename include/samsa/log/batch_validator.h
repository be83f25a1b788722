#pragma once
// Validation of produced record batches (headers here, each record through
// record_validator.h) and in-place offset assignment. Kafka's LogValidator is the reference for
// which checks exist and which error each one maps to.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "samsa/log/log_config.h"
#include "samsa/log/log_error.h"
#include "samsa/protocol/record_batch.h"

namespace samsa::log {

enum class AppendOrigin { kClient, kReplication, kCoordinator };

// What the append produced; the produce response is built from it.
struct AppendInfo {
  int64_t first_offset = -1;
  int64_t last_offset = -1;
  int64_t log_append_time = -1;  // -1 unless the topic uses LogAppendTime
  int64_t log_start_offset = 0;
  int64_t max_timestamp = -1;
  // Last offset of the first batch carrying max_timestamp (batch-level, like
  // Kafka's "shallow" offset of the max timestamp).
  int64_t offset_of_max_timestamp = -1;
  int32_t num_batches = 0;
  size_t bytes = 0;
  // A producer's retry of a batch already in the log: offsets are the
  // original's, nothing was written.
  bool duplicate = false;
  // Durable mode (log.h, append_as_leader): a flush was requested and the
  // append may be answered only once the log's durable offset passes
  // last_offset.
  bool awaits_flush = false;
  // Staged, not yet written (Log::append_as_leader with an owner): readable
  // once Log::write_staged(last_offset + 1) succeeded.
  bool staged = false;
};

struct ValidatedAppend {
  AppendInfo info;
  // One view per batch, headers reflecting the assigned offsets/timestamps.
  std::vector<protocol::BatchView> batches;
};

struct LeaderAppendContext {
  int64_t next_offset = 0;    // offset assigned to the first record
  int32_t leader_epoch = -1;  // stamped on every batch
  int64_t now_ms = 0;
  AppendOrigin origin = AppendOrigin::kClient;
  std::string partition;  // "topic-N", named in error messages as Kafka does
};

// Checks framing (complete batches only), magic 2, CRC, sizes, record
// counts, control/sequence rules, then every record (record_validator.h:
// count and offsets against the header, keys for compacted topics,
// timestamps), then assigns offsets, the records' max timestamp and
// the leader epoch in place and, for LogAppendTime topics, the broker's time
// (CRC recomputed). Nothing is modified unless every batch passes.
LogResult<ValidatedAppend> validate_leader_append(std::span<uint8_t> buffer,
                                                  const LogConfig& config,
                                                  const LeaderAppendContext& ctx);

// Replicated batches: offsets are already assigned; checks framing, CRC,
// sizes and that offsets strictly increase starting at or after next_offset.
LogResult<ValidatedAppend> validate_follower_append(std::span<const uint8_t> buffer,
                                                    const LogConfig& config,
                                                    int64_t next_offset);

}  // namespace samsa::log
