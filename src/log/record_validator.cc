#include "samsa/log/record_validator.h"

#include "samsa/protocol/compression.h"
#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/wire_reader.h"

namespace samsa::log {
namespace {

using protocol::TimestampType;
using protocol::WireReader;

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

// Skips a length-prefixed field whose length may be -1 (null).
void skip_nullable(WireReader& in, const char* what) {
  int32_t len = in.varint();
  if (len < -1) throw protocol::DecodeError(std::string("negative ") + what + " length");
  if (len > 0) in.take(static_cast<size_t>(len));
}

// The fields of one record the checks need; the rest is only walked over so
// that a record whose parts do not fill its length is caught.
struct RecordFields {
  int64_t timestamp_delta = 0;
  int32_t offset_delta = 0;
  bool has_key = false;
};

RecordFields read_record(WireReader& in) {
  int32_t len = in.varint();
  if (len < 0) throw protocol::DecodeError("negative record length");
  WireReader body(in.take(static_cast<size_t>(len)));
  RecordFields r;
  body.int8();  // attributes, unused in v2
  r.timestamp_delta = body.varlong();
  r.offset_delta = body.varint();
  int32_t key_len = body.varint();
  if (key_len < -1) throw protocol::DecodeError("negative key length");
  r.has_key = key_len >= 0;
  if (key_len > 0) body.take(static_cast<size_t>(key_len));
  skip_nullable(body, "value");
  int32_t headers = body.varint();
  if (headers < 0) throw protocol::DecodeError("negative header count");
  for (int32_t i = 0; i < headers; ++i) {
    int32_t key = body.varint();
    if (key < 0) throw protocol::DecodeError("null header key");
    body.take(static_cast<size_t>(key));
    skip_nullable(body, "header value");
  }
  if (!body.at_end())
    throw protocol::DecodeError("Invalid record size: expected to read " + std::to_string(len) +
                                " bytes in record payload, but instead read " +
                                std::to_string(body.position()));
  return r;
}

// Kafka's RecordError.toString, as its summary message lists them.
std::string describe(const RecordError& e) {
  return "RecordError(batchIndex=" + std::to_string(e.batch_index) + ", message='" + e.message +
         "')";
}

}  // namespace

RecordRules RecordRules::from(const LogConfig& config, int64_t now_ms, std::string_view partition) {
  RecordRules r;
  r.compacted = config.compact_enabled();
  r.timestamp_type = config.message_timestamp_type;
  r.before_max_ms = config.message_timestamp_before_max_ms;
  r.after_max_ms = config.message_timestamp_after_max_ms;
  r.now_ms = now_ms;
  r.partition = partition;
  return r;
}

LogResult<RecordScan> scan_records(const protocol::BatchView& batch, const RecordRules& rules,
                                   size_t max_decompressed) {
  const protocol::RecordBatchHeader& h = batch.header;
  const std::string where = " in topic partition " + std::string(rules.partition);
  std::vector<uint8_t> owned;
  std::span<const uint8_t> section = batch.bytes.subspan(protocol::RecordBatchHeader::kSize);
  if (h.compression() != protocol::CompressionType::kNone) {
    try {
      owned = protocol::uncompressed_records_section(batch, max_decompressed);
    } catch (const std::exception& e) {
      return log_error(LogErrc::kCorruptMessage,
                       "Failed to decompress record stream" + where + ": " + e.what());
    }
    section = owned;
  }

  const bool create_time = rules.timestamp_type == TimestampType::kCreateTime;
  // A LogAppendTime batch's records all read as the batch's max timestamp.
  const bool batch_log_append = h.timestamp_type() == TimestampType::kLogAppendTime;
  RecordScan scan;
  WireReader in(section);
  try {
    for (int32_t i = 0; i < h.records_count; ++i) {
      if (in.at_end())
        return log_error(LogErrc::kInvalidRecord,
                         "Incorrect declared batch size, premature EOF reached" + where);
      RecordFields r = read_record(in);
      // Stock v2 clients number records 0..n-1. Kafka rebuilds a compressed
      // batch that does not (a leftover from v0/v1 clients) and stores
      // uncompressed ones as they are; Samsa speaks v2 only and refuses both,
      // so every stored batch has consecutive offsets.
      if (r.offset_delta != i)
        return log_error(LogErrc::kInvalidRecord,
                         "Record " + std::to_string(i) + " has offset delta " +
                             std::to_string(r.offset_delta) + ", expected " + std::to_string(i) +
                             where);
      // Two's-complement wrap, as the JVM computes baseTimestamp + delta.
      const int64_t ts = batch_log_append
                             ? h.max_timestamp
                             : static_cast<int64_t>(static_cast<uint64_t>(h.base_timestamp) +
                                                    static_cast<uint64_t>(r.timestamp_delta));
      if (rules.compacted && !r.has_key) {
        scan.errors.push_back(
            {i, "Compacted topic cannot accept message without key" + where + "."});
        continue;
      }
      if (create_time && ts != -1) {
        const __int128 diff = static_cast<__int128>(rules.now_ms) - ts;
        if (diff > rules.before_max_ms || -diff > rules.after_max_ms) {
          scan.timestamp_error = true;
          scan.errors.push_back(
              {i, "Timestamp " + std::to_string(ts) + " of message with offset " +
                      std::to_string(h.base_offset + i) +
                      " is out of range. The timestamp should be within [" +
                      std::to_string(saturating_add(rules.now_ms, -rules.before_max_ms)) + ", " +
                      std::to_string(saturating_add(rules.now_ms, rules.after_max_ms)) + "]"});
          continue;
        }
      } else if (batch_log_append) {
        scan.timestamp_error = true;
        scan.errors.push_back({i, "Invalid timestamp type in record " + std::to_string(i) +
                                      ". Producer should not set timestamp type to "
                                      "LogAppendTime."});
        continue;
      }
      if (ts > scan.max_timestamp) {
        scan.max_timestamp = ts;
        scan.offset_delta_of_max = i;
      }
    }
  } catch (const protocol::DecodeError& e) {
    return log_error(LogErrc::kInvalidRecord, e.what() + where);
  }
  if (!in.at_end())
    return log_error(LogErrc::kInvalidRecord,
                     "Incorrect declared batch size, records still remaining in file" + where);
  return scan;
}

LogError record_errors_error(RecordScan scan) {
  if (scan.timestamp_error)
    return LogError{LogErrc::kInvalidTimestamp,
                    "One or more records have been rejected due to invalid timestamp",
                    std::move(scan.errors)};
  std::string shown;
  for (size_t i = 0; i < scan.errors.size() && i < 3; ++i)
    shown += (i ? ", " : "") + describe(scan.errors[i]);
  std::string message = "One or more records have been rejected due to " +
                        std::to_string(scan.errors.size()) +
                        " record errors in total, and only showing the first three errors at "
                        "most: [" +
                        shown + "]";
  return LogError{LogErrc::kInvalidRecord, std::move(message), std::move(scan.errors)};
}

}  // namespace samsa::log
