#pragma once
// Per-record checks of a produced batch, Kafka's LogValidator.validateRecord:
// every record is walked (compressed batches are decompressed first) to check
// the batch's framing against its records, that a compacted topic gets keys
// only, and that each record's timestamp lies in the topic's window.
//
// Two kinds of failure, as in Kafka:
//  - the batch itself is inconsistent (records count, inner offsets, record
//    framing, undecodable compressed data): a LogError, no record errors;
//  - individual records break a rule (no key, timestamp out of range): every
//    offending record is listed with its index in the batch, and the batch is
//    still rejected as a whole (Produce v8+ `record_errors`).
//
// Threading: pure functions, no shared state.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "samsa/log/log_config.h"
#include "samsa/log/log_error.h"
#include "samsa/protocol/record_batch.h"

namespace samsa::log {

struct RecordRules {
  bool compacted = false;  // cleanup.policy contains compact: keys required
  protocol::TimestampType timestamp_type = protocol::TimestampType::kCreateTime;
  int64_t before_max_ms = LogConfig::kNever;  // message.timestamp.before.max.ms
  int64_t after_max_ms = LogConfig::kNever;   // message.timestamp.after.max.ms
  int64_t now_ms = 0;
  std::string_view partition;  // "topic-N", for messages as Kafka words them

  static RecordRules from(const LogConfig& config, int64_t now_ms, std::string_view partition);
};

struct RecordScan {
  // Largest record timestamp (-1 when every record has none): Kafka stamps it
  // on the batch header, whatever the producer wrote there.
  int64_t max_timestamp = -1;
  // Last offset delta whose record carries max_timestamp.
  int32_t offset_delta_of_max = -1;
  std::vector<RecordError> errors;  // empty when every record passes
  bool timestamp_error = false;     // one of `errors` is a timestamp's
};

// Decompressed records sections larger than this are refused (a compressed
// batch is at most max.message.bytes, this bounds what it may expand to).
inline constexpr size_t kMaxDecompressedRecords = 256u * 1024 * 1024;

// Walks every record of `batch` (a complete, CRC-checked magic-2 batch).
// REQUIRES: batch.header.records_count > 0.
LogResult<RecordScan> scan_records(const protocol::BatchView& batch, const RecordRules& rules,
                                   size_t max_decompressed = kMaxDecompressedRecords);

// The LogError for a batch whose scan found record errors, worded and coded as
// Kafka's LogValidator.processRecordErrors: INVALID_TIMESTAMP if any record's
// timestamp failed, INVALID_RECORD otherwise; the record errors ride along.
// REQUIRES: !scan.errors.empty().
LogError record_errors_error(RecordScan scan);

}  // namespace samsa::log
