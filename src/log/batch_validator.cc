#include "samsa/log/batch_validator.h"

#include <string>

#include "samsa/log/record_validator.h"

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

}  // namespace

LogResult<ValidatedAppend> validate_leader_append(std::span<uint8_t> buffer,
                                                  const LogConfig& config,
                                                  const LeaderAppendContext& ctx) {
  auto checked = split_and_check(buffer, config);
  if (!checked) return checked.error();
  std::vector<BatchView>& batches = checked.value();
  const RecordRules rules = RecordRules::from(config, ctx.now_ms, ctx.partition);
  std::vector<int64_t> max_timestamps(batches.size(), -1);

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
    if (h.is_control()) {
      // A transaction marker (only the coordinator's WriteTxnMarkers gets
      // here): one control record, no sequence.
      if (h.records_count != 1)
        return log_error(LogErrc::kInvalidRecord,
                         batch_name(i) + " is a control batch with " + std::to_string(h.records_count) + " records");
    } else if (h.producer_id >= 0 && h.base_sequence < 0 && ctx.origin == AppendOrigin::kClient) {
      // (A coordinator's own transactional writes, e.g. TxnOffsetCommit's,
      // need no sequence: nobody retries them through the producer state.)
      return log_error(LogErrc::kInvalidRecord,
                       batch_name(i) + " has a producer id but no base sequence");
    } else if (h.is_transactional() && h.producer_id < 0) {
      return log_error(LogErrc::kInvalidRecord, batch_name(i) + " is transactional without a producer id");
    }
    auto scan = scan_records(batches[i], rules);
    if (!scan) return scan.error();
    if (!scan->errors.empty()) return record_errors_error(std::move(scan.value()));
    max_timestamps[i] = scan->max_timestamp;
  }

  // Every batch passed: assign offsets (outside the CRC range) and, for
  // LogAppendTime, the broker's clock; for CreateTime the max timestamp the
  // records carry, as Kafka does, whatever the producer wrote in the header
  // (CRC recomputed only when a field inside it changes).
  ValidatedAppend out;
  const bool log_append_time = config.message_timestamp_type == TimestampType::kLogAppendTime;
  int64_t next = ctx.next_offset;
  size_t pos = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    BatchView& b = batches[i];
    std::span<uint8_t> bytes = buffer.subspan(pos, b.bytes.size());
    pos += bytes.size();
    protocol::set_base_offset(bytes, next);
    protocol::set_partition_leader_epoch(bytes, ctx.leader_epoch);
    b.header.base_offset = next;
    b.header.partition_leader_epoch = ctx.leader_epoch;
    if (log_append_time) {
      protocol::set_max_timestamp(bytes, TimestampType::kLogAppendTime, ctx.now_ms);
      b.header = RecordBatchHeader::parse(bytes);
    } else if (b.header.max_timestamp != max_timestamps[i] ||
               b.header.timestamp_type() != TimestampType::kCreateTime) {
      protocol::set_max_timestamp(bytes, TimestampType::kCreateTime, max_timestamps[i]);
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
