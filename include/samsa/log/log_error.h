#pragma once
// Error values of the log module. The log never throws for bad input or a
// refused operation; it returns one of these and the broker maps it onto a
// Kafka error code (the comment names the usual mapping).
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace samsa::log {

enum class LogErrc {
  kCorruptMessage,       // CORRUPT_MESSAGE: bad CRC or framing
  kRecordTooLarge,       // MESSAGE_TOO_LARGE: batch > max.message.bytes
  kRecordBatchTooLarge,  // RECORD_LIST_TOO_LARGE: request > segment.bytes
  kInvalidTimestamp,     // INVALID_TIMESTAMP
  kInvalidRecord,        // INVALID_RECORD: counts, control batches, ...
  kUnsupportedVersion,   // UNSUPPORTED_FOR_MESSAGE_FORMAT: magic != 2
  kOffsetOutOfRange,     // OFFSET_OUT_OF_RANGE
  kNonMonotonicOffsets,  // follower append with offsets going backwards
  kInconsistentTopicId,  // INCONSISTENT_TOPIC_ID
  kStorageError,         // KAFKA_STORAGE_ERROR: an I/O call failed
  kLogClosed,            // the log was closed or deleted
  kOutOfOrderSequence,   // OUT_OF_ORDER_SEQUENCE_NUMBER: idempotent producer gap
  kInvalidProducerEpoch, // INVALID_PRODUCER_EPOCH: a fenced producer epoch
  // Transactions (issue 12).
  kInvalidTxnState,             // INVALID_TXN_STATE: a write outside / against the producer's transaction
  kTransactionCoordinatorFenced, // TRANSACTION_COORDINATOR_FENCED: a marker of an older coordinator epoch
};

std::string_view log_errc_name(LogErrc code);

// One record of a batch that broke a per-record rule (Produce v8+
// `record_errors`): its index within the batch and why.
struct RecordError {
  int32_t batch_index = 0;
  std::string message;
  bool operator==(const RecordError&) const = default;
};

struct LogError {
  LogErrc code;
  std::string message;
  // Set when the batch was refused because of these records (Kafka's
  // RecordValidationException); the message then summarises them.
  std::vector<RecordError> record_errors = {};
};

// A value or a LogError (std::expected arrives with C++23).
template <typename T>
class LogResult {
 public:
  LogResult(T value) : v_(std::move(value)) {}
  LogResult(LogError error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const LogError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, LogError> v_;
};

inline LogError log_error(LogErrc code, std::string message) {
  return LogError{code, std::move(message)};
}

}  // namespace samsa::log
