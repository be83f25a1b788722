#include "samsa/log/batch_validator.h"

#include <string>

namespace samsa::log {
namespace {

using protocol::BatchView;
using protocol::RecordBatchHeader;
using protocol::TimestampType;

std::string batch_name(size_t i) { return "batch " + std::to_string(i); }

// Framing + CRC + size checks shared by leader and follower appends.
LogResult<std::vector<BatchView>> split_and_check(std::span<const uint8_t> buffer,
                                                  const LogConfig& config) {
  if (buffer.size() > RecordBatchHeader::kMagicPos) {
    int8_t magic = static_cast<int8_t>(buffer[RecordBatchHeader::kMagicPos]);
    if (magic == 0 || magic == 1)
      return log_error(LogErrc::kUnsupportedVersion,
                       "record batch magic " + std::to_string(magic) + " is not supported");
  }
  protocol::SplitResult split;
  try {
    split = protocol::split_batches(buffer, /*require_complete=*/true);
  } catch (const protocol::DecodeError& e) {
    return log_error(LogErrc::kCorruptMessage, e.what());
  }
  for (size_t i = 0; i < split.batches.size(); ++i) {
    const BatchView& b = split.batches[i];
    if (b.bytes.size() > static_cast<size_t>(config.max_message_bytes))
      return log_error(LogErrc::kRecordTooLarge,
                       batch_name(i) + " is " + std::to_string(b.bytes.size()) +
                           " bytes, larger than max.message.bytes " +
                           std::to_string(config.max_message_bytes));
    if (!protocol::verify_crc(b.bytes))
      return log_error(LogErrc::kCorruptMessage, batch_name(i) + " fails its CRC check");
    if (b.header.records_count <= 0)
      return log_error(LogErrc::kInvalidRecord, batch_name(i) + " has no records");
    if (b.header.last_offset_delta < 0 ||
        static_cast<int64_t>(b.header.last_offset_delta) + 1 != b.header.records_count)
      return log_error(LogErrc::kInvalidRecord,
                       batch_name(i) + " record count does not match its offset range");
  }
  if (buffer.size() > static_cast<size_t>(config.segment_bytes))
    return log_error(LogErrc::kRecordBatchTooLarge,
                     "append of " + std::to_string(buffer.size()) +
                         " bytes exceeds segment.bytes " + std::to_string(config.segment_bytes));
  return std::move(split.batches);
}

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

std::optional<LogError> check_timestamps(const RecordBatchHeader& h, size_t i,
                                         const LogConfig& config, int64_t now_ms) {
  if (config.message_timestamp_type != TimestampType::kCreateTime) return std::nullopt;
  const int64_t earliest = saturating_add(now_ms, -config.message_timestamp_before_max_ms);
  const int64_t latest = saturating_add(now_ms, config.message_timestamp_after_max_ms);
  // -1 is "no timestamp" and is exempt, as in Kafka.
  for (int64_t ts : {h.base_timestamp, h.max_timestamp}) {
    if (ts == -1) continue;
    if (ts < earliest || ts > latest)
      return log_error(LogErrc::kInvalidTimestamp,
                       batch_name(i) + " timestamp " + std::to_string(ts) +
                           " is out of range [" + std::to_string(earliest) + ", " +
                           std::to_string(latest) + "]");
  }
  return std::nullopt;
}

}  // namespace

LogResult<ValidatedAppend> validate_leader_append(std::span<uint8_t> buffer,
                                                  const LogConfig& config,
                                                  const LeaderAppendContext& ctx) {
  auto checked = split_and_check(buffer, config);
  if (!checked) return checked.error();
  std::vector<BatchView>& batches = checked.value();

  for (size_t i = 0; i < batches.size(); ++i) {
    const RecordBatchHeader& h = batches[i].header;
    if (ctx.origin == AppendOrigin::kClient) {
      if (h.base_offset != 0)
        return log_error(LogErrc::kInvalidRecord,
                         batch_name(i) + " base offset should be 0, is " +
                             std::to_string(h.base_offset));
      if (h.is_control())
        return log_error(LogErrc::kInvalidRecord, "clients may not write control batches");
    }
    if (h.producer_id >= 0 && h.base_sequence < 0)
      return log_error(LogErrc::kInvalidRecord,
                       batch_name(i) + " has a producer id but no base sequence");
    if (auto err = check_timestamps(h, i, config, ctx.now_ms)) return *err;
  }

  // Every batch passed: assign offsets (outside the CRC range) and, for
  // LogAppendTime, the broker's clock (CRC recomputed).
  ValidatedAppend out;
  const bool log_append_time = config.message_timestamp_type == TimestampType::kLogAppendTime;
  int64_t next = ctx.next_offset;
  size_t pos = 0;
  for (BatchView& b : batches) {
    std::span<uint8_t> bytes = buffer.subspan(pos, b.bytes.size());
    pos += bytes.size();
    protocol::set_base_offset(bytes, next);
    protocol::set_partition_leader_epoch(bytes, ctx.leader_epoch);
    b.header.base_offset = next;
    b.header.partition_leader_epoch = ctx.leader_epoch;
    if (log_append_time) {
      protocol::set_max_timestamp(bytes, TimestampType::kLogAppendTime, ctx.now_ms);
      b.header = RecordBatchHeader::parse(bytes);
    }
    if (b.header.max_timestamp > out.info.max_timestamp) {
      out.info.max_timestamp = b.header.max_timestamp;
      out.info.offset_of_max_timestamp = b.header.last_offset();
    }
    next = b.header.next_offset();
  }
  out.info.first_offset = batches.empty() ? -1 : ctx.next_offset;
  out.info.last_offset = batches.empty() ? -1 : next - 1;
  out.info.log_append_time = log_append_time ? ctx.now_ms : -1;
  out.info.num_batches = static_cast<int32_t>(batches.size());
  out.info.bytes = buffer.size();
  out.batches = std::move(batches);
  return out;
}

LogResult<ValidatedAppend> validate_follower_append(std::span<const uint8_t> buffer,
                                                    const LogConfig& config,
                                                    int64_t next_offset) {
  auto checked = split_and_check(buffer, config);
  if (!checked) return checked.error();
  ValidatedAppend out;
  int64_t expected = next_offset;
  for (size_t i = 0; i < checked->size(); ++i) {
    const RecordBatchHeader& h = (*checked)[i].header;
    if (h.base_offset < expected)
      return log_error(LogErrc::kNonMonotonicOffsets,
                       batch_name(i) + " base offset " + std::to_string(h.base_offset) +
                           " is below the expected " + std::to_string(expected));
    if (h.max_timestamp > out.info.max_timestamp) {
      out.info.max_timestamp = h.max_timestamp;
      out.info.offset_of_max_timestamp = h.last_offset();
    }
    if (i == 0) out.info.first_offset = h.base_offset;
    out.info.last_offset = h.last_offset();
    expected = h.next_offset();
  }
  out.info.num_batches = static_cast<int32_t>(checked->size());
  out.info.bytes = buffer.size();
  out.batches = std::move(checked.value());
  return out;
}

}  // namespace samsa::log
