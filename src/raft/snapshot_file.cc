#include "samsa/raft/snapshot_file.h"

#include <chrono>
#include <stdexcept>

#include <fmt/format.h>

#include "samsa/protocol/gen/kraft_version_record.h"
#include "samsa/protocol/gen/snapshot_footer_record.h"
#include "samsa/protocol/gen/snapshot_header_record.h"
#include "samsa/util/file_util.h"

namespace samsa::raft {

namespace {

// Control record types (Kafka's ControlRecordType) used in snapshots.
constexpr int16_t kSnapshotHeaderType = 3;
constexpr int16_t kSnapshotFooterType = 4;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

template <typename ControlRecord>
void append_control_batch(protocol::WireWriter& out, int64_t offset, int32_t epoch, int16_t type,
                          const ControlRecord& record, int64_t ts) {
  protocol::RecordBatchOptions options;
  options.base_offset = offset;
  options.partition_leader_epoch = epoch;
  options.control = true;
  protocol::RecordBatchBuilder builder(options);
  protocol::WireWriter key;
  key.int16(0);  // control record key version
  key.int16(type);
  protocol::WireWriter value;
  record.encode(value, 0);
  builder.append(ts, key.view(), value.view());
  builder.build_into(out);
}

}  // namespace

std::vector<uint8_t> encode_snapshot(const std::vector<std::vector<uint8_t>>& values, int32_t epoch,
                                     size_t records_per_batch, const std::optional<std::vector<Voter>>& voters) {
  int64_t ts = now_ms();
  protocol::WireWriter out;
  int64_t offset = 0;
  protocol::SnapshotHeaderRecord header;
  header.version = 0;
  header.last_contained_log_timestamp = ts;
  append_control_batch(out, offset++, epoch, kSnapshotHeaderType, header, ts);
  if (voters) {
    protocol::KRaftVersionRecord version;
    version.version = 0;
    version.kraft_version = 1;
    append_control_batch(out, offset++, epoch, kKRaftVersionControlType, version, ts);
    protocol::VotersRecord record;
    record.version = 0;
    record.voters = *voters;
    append_control_batch(out, offset++, epoch, kVotersControlType, record, ts);
  }
  for (size_t i = 0; i < values.size(); i += records_per_batch) {
    protocol::RecordBatchOptions options;
    options.base_offset = offset;
    options.partition_leader_epoch = epoch;
    protocol::RecordBatchBuilder batch(options);
    size_t end = std::min(values.size(), i + records_per_batch);
    for (size_t k = i; k < end; ++k) batch.append(ts, std::nullopt, std::span<const uint8_t>(values[k]));
    batch.build_into(out);
    offset += static_cast<int64_t>(end - i);
  }
  protocol::SnapshotFooterRecord footer;
  footer.version = 0;
  append_control_batch(out, offset, epoch, kSnapshotFooterType, footer, ts);
  return out.take();
}

void write_snapshot_file(const std::string& path, const std::vector<std::vector<uint8_t>>& values, int32_t epoch,
                         size_t records_per_batch) {
  util::write_file_atomically(path, encode_snapshot(values, epoch, records_per_batch));
}

void read_snapshot_file(const std::string& path, const std::function<void(const protocol::BatchView&)>& on_batch) {
  auto data = util::read_file(path);
  try {
    decode_snapshot(data, on_batch);
  } catch (const protocol::DecodeError& e) {
    throw std::runtime_error(fmt::format("{} is corrupt: {}", path, e.what()));
  }
}

void decode_snapshot(std::span<const uint8_t> data, const std::function<void(const protocol::BatchView&)>& on_batch) {
  auto split = protocol::split_batches(data, /*require_complete=*/true);
  bool footer = false;
  for (const auto& batch : split.batches) {
    if (!protocol::verify_crc(batch.bytes)) throw protocol::DecodeError("batch CRC mismatch");
    if (batch.header.is_control()) {
      auto records = protocol::decode_records(batch);
      if (!records.empty() && records[0].key && records[0].key->size() == 4 && (*records[0].key)[3] == kSnapshotFooterType)
        footer = true;
      continue;
    }
    on_batch(batch);
  }
  if (!footer) throw protocol::DecodeError("no snapshot footer: the file is incomplete");
}

std::optional<std::vector<Voter>> snapshot_voters(std::span<const uint8_t> data) {
  try {
    auto split = protocol::split_batches(data, /*require_complete=*/false);
    for (const auto& batch : split.batches) {
      if (!batch.header.is_control()) break;  // they follow the header, before any data
      for (const auto& r : protocol::decode_records(batch)) {
        if (!r.key || r.key->size() != 4 || (*r.key)[3] != kVotersControlType || !r.value) continue;
        return decode_voters_record(std::string(r.value->begin(), r.value->end()));
      }
    }
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace samsa::raft
