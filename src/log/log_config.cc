#include "samsa/log/log_config.h"

#include <charconv>
#include <chrono>
#include <cstdlib>

#include "samsa/log/clock.h"
#include "samsa/log/log_error.h"

namespace samsa::log {
namespace {

template <typename T>
bool parse_number(const std::string& s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

}  // namespace

std::optional<std::string> LogConfig::apply(const std::map<std::string, std::string>& overrides) {
  std::optional<std::string> first_bad;
  for (const auto& [key, value] : overrides) {
    bool ok = true;
    if (key == "segment.bytes") ok = parse_number(value, segment_bytes);
    else if (key == "segment.ms") ok = parse_number(value, segment_ms);
    else if (key == "file.delete.delay.ms") ok = parse_number(value, file_delete_delay_ms);
    else if (key == "segment.jitter.ms") ok = parse_number(value, segment_jitter_ms);
    else if (key == "compression.gzip.level") ok = parse_number(value, compression_gzip_level);
    else if (key == "compression.lz4.level") ok = parse_number(value, compression_lz4_level);
    else if (key == "compression.zstd.level") ok = parse_number(value, compression_zstd_level);
    else if (key == "segment.index.bytes") ok = parse_number(value, segment_index_bytes);
    else if (key == "index.interval.bytes") ok = parse_number(value, index_interval_bytes);
    else if (key == "retention.ms") ok = parse_number(value, retention_ms);
    else if (key == "retention.bytes") ok = parse_number(value, retention_bytes);
    else if (key == "flush.messages") ok = parse_number(value, flush_messages);
    else if (key == "flush.ms") ok = parse_number(value, flush_ms);
    else if (key == "max.message.bytes") ok = parse_number(value, max_message_bytes);
    else if (key == "delete.retention.ms") ok = parse_number(value, delete_retention_ms);
    else if (key == "min.compaction.lag.ms") ok = parse_number(value, min_compaction_lag_ms);
    else if (key == "max.compaction.lag.ms") ok = parse_number(value, max_compaction_lag_ms);
    else if (key == "min.cleanable.dirty.ratio") {
      char* end = nullptr;
      min_cleanable_dirty_ratio = std::strtod(value.c_str(), &end);
      ok = !value.empty() && end == value.c_str() + value.size() && min_cleanable_dirty_ratio >= 0.0 &&
           min_cleanable_dirty_ratio <= 1.0;
    } else if (key == "message.timestamp.before.max.ms")
      ok = parse_number(value, message_timestamp_before_max_ms);
    else if (key == "message.timestamp.after.max.ms")
      ok = parse_number(value, message_timestamp_after_max_ms);
    else if (key == "message.timestamp.type") {
      if (value == "CreateTime") message_timestamp_type = protocol::TimestampType::kCreateTime;
      else if (value == "LogAppendTime") message_timestamp_type = protocol::TimestampType::kLogAppendTime;
      else ok = false;
    } else if (key == "preallocate" || key == "samsa.fsync.per.append") {
      bool& target = key == "preallocate" ? preallocate : fsync_per_append;
      if (value == "true") target = true;
      else if (value == "false") target = false;
      else ok = false;
    } else if (key == "cleanup.policy") cleanup_policy = value;
    else if (key == "compression.type") compression_type = value;
    // One bad value must not keep the keys after it from applying.
    if (!ok && !first_bad) first_bad = key;
  }
  return first_bad;
}

int64_t SystemClock::now_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::shared_ptr<Clock> SystemClock::instance() {
  static auto clock = std::make_shared<SystemClock>();
  return clock;
}

std::string_view log_errc_name(LogErrc code) {
  switch (code) {
    case LogErrc::kCorruptMessage: return "CORRUPT_MESSAGE";
    case LogErrc::kRecordTooLarge: return "MESSAGE_TOO_LARGE";
    case LogErrc::kRecordBatchTooLarge: return "RECORD_LIST_TOO_LARGE";
    case LogErrc::kInvalidTimestamp: return "INVALID_TIMESTAMP";
    case LogErrc::kInvalidRecord: return "INVALID_RECORD";
    case LogErrc::kUnsupportedVersion: return "UNSUPPORTED_FOR_MESSAGE_FORMAT";
    case LogErrc::kOffsetOutOfRange: return "OFFSET_OUT_OF_RANGE";
    case LogErrc::kNonMonotonicOffsets: return "NON_MONOTONIC_OFFSETS";
    case LogErrc::kInconsistentTopicId: return "INCONSISTENT_TOPIC_ID";
    case LogErrc::kStorageError: return "KAFKA_STORAGE_ERROR";
    case LogErrc::kLogClosed: return "LOG_CLOSED";
    case LogErrc::kOutOfOrderSequence: return "OUT_OF_ORDER_SEQUENCE_NUMBER";
    case LogErrc::kInvalidProducerEpoch: return "INVALID_PRODUCER_EPOCH";
    case LogErrc::kInvalidTxnState: return "INVALID_TXN_STATE";
    case LogErrc::kTransactionCoordinatorFenced: return "TRANSACTION_COORDINATOR_FENCED";
  }
  return "UNKNOWN";
}

}  // namespace samsa::log
