#include "samsa/protocol/control_records.h"

#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::protocol {

namespace {
constexpr int16_t kControlKeyVersion = 0;
constexpr int16_t kMarkerValueVersion = 0;
}  // namespace

ControlRecordType control_record_type(std::span<const uint8_t> key) {
  if (key.size() < 4) return ControlRecordType::kUnknown;
  WireReader in(key);
  if (in.int16() != kControlKeyVersion) return ControlRecordType::kUnknown;
  switch (in.int16()) {
    case 0: return ControlRecordType::kAbort;
    case 1: return ControlRecordType::kCommit;
    case 2: return ControlRecordType::kLeaderChange;
    default: return ControlRecordType::kUnknown;
  }
}

std::optional<EndTxnMarker> parse_end_txn_marker(const BatchView& batch) {
  if (!batch.header.is_control()) return std::nullopt;
  auto records = decode_records(batch);
  if (records.empty() || !records[0].key) return std::nullopt;
  const auto type = control_record_type(*records[0].key);
  if (type != ControlRecordType::kAbort && type != ControlRecordType::kCommit) return std::nullopt;
  const auto& value = records[0].value;
  // Kafka's EndTransactionMarker: version, then the coordinator epoch; a
  // newer version may append fields.
  if (!value || value->size() < 6) throw DecodeError("end transaction marker: value too short");
  WireReader in(*value);
  if (in.int16() < kMarkerValueVersion) throw DecodeError("end transaction marker: negative version");
  EndTxnMarker m;
  m.commit = type == ControlRecordType::kCommit;
  m.coordinator_epoch = in.int32();
  return m;
}

std::vector<uint8_t> build_end_txn_marker(int64_t producer_id, int16_t producer_epoch, const EndTxnMarker& marker,
                                          int64_t timestamp_ms) {
  RecordBatchOptions options;
  options.producer_id = producer_id;
  options.producer_epoch = producer_epoch;
  options.base_sequence = -1;
  options.transactional = true;
  options.control = true;
  options.base_timestamp = timestamp_ms;
  WireWriter key;
  key.int16(kControlKeyVersion);
  key.int16(static_cast<int16_t>(marker.commit ? ControlRecordType::kCommit : ControlRecordType::kAbort));
  WireWriter value;
  value.int16(kMarkerValueVersion);
  value.int32(marker.coordinator_epoch);
  RecordBatchBuilder builder(options);
  const auto k = key.take();
  const auto v = value.take();
  builder.append(timestamp_ms, std::span<const uint8_t>(k), std::span<const uint8_t>(v));
  return builder.build();
}

}  // namespace samsa::protocol
