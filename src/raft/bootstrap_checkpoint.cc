#include "samsa/raft/bootstrap_checkpoint.h"

#include <chrono>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "samsa/protocol/gen/feature_level_record.h"
#include "samsa/protocol/gen/snapshot_footer_record.h"
#include "samsa/protocol/gen/snapshot_header_record.h"
#include "samsa/protocol/record_batch.h"
#include "samsa/raft/metadata_record_frame.h"
#include "samsa/util/file_util.h"

namespace samsa::raft {

namespace {

// Control record types (Kafka's ControlRecordType) used in snapshots.
constexpr int16_t kSnapshotHeaderType = 3;
constexpr int16_t kSnapshotFooterType = 4;

std::vector<uint8_t> control_key(int16_t type) {
  protocol::WireWriter w;
  w.int16(0);  // control record key version
  w.int16(type);
  return w.take();
}

template <typename ControlRecord>
void append_control_batch(protocol::WireWriter& out, int64_t offset, int16_t type, const ControlRecord& record,
                          int64_t now_ms) {
  protocol::RecordBatchOptions options;
  options.base_offset = offset;
  options.partition_leader_epoch = 0;
  options.control = true;
  protocol::RecordBatchBuilder builder(options);
  protocol::WireWriter value;
  record.encode(value, 0);
  auto key = control_key(type);
  builder.append(now_ms, std::span<const uint8_t>(key), value.view());
  builder.build_into(out);
}

}  // namespace

void write_bootstrap_checkpoint(const std::string& dir, const BootstrapMetadata& metadata) {
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  protocol::WireWriter out;

  protocol::SnapshotHeaderRecord header;
  header.version = 0;
  header.last_contained_log_timestamp = now_ms;
  append_control_batch(out, 0, kSnapshotHeaderType, header, now_ms);

  protocol::FeatureLevelRecord feature;
  feature.name = "metadata.version";
  feature.feature_level = metadata.metadata_version;
  protocol::RecordBatchOptions options;
  options.base_offset = 1;
  options.partition_leader_epoch = 0;
  protocol::RecordBatchBuilder records(options);
  auto value = frame_metadata_record(feature, 0);
  records.append(now_ms, std::nullopt, std::span<const uint8_t>(value));
  records.build_into(out);

  protocol::SnapshotFooterRecord footer;
  footer.version = 0;
  append_control_batch(out, 2, kSnapshotFooterType, footer, now_ms);

  util::write_file_atomically((std::filesystem::path(dir) / kBootstrapCheckpointFile).string(), out.view());
}

BootstrapMetadata read_bootstrap_checkpoint(const std::string& dir) {
  std::string path = (std::filesystem::path(dir) / kBootstrapCheckpointFile).string();
  auto data = util::read_file(path);
  BootstrapMetadata result;
  try {
    auto split = protocol::split_batches(data, /*require_complete=*/true);
    for (const auto& batch : split.batches) {
      if (!protocol::verify_crc(batch.bytes)) throw protocol::DecodeError("batch CRC mismatch");
      if (batch.header.is_control()) continue;
      for (const auto& record : protocol::decode_records(batch)) {
        if (!record.value) continue;
        protocol::WireReader in(*record.value);
        auto h = read_metadata_record_header(in);
        if (h.type != protocol::FeatureLevelRecord::kApiKey) continue;
        protocol::FeatureLevelRecord feature;
        feature.decode(in, h.version);
        if (feature.name == "metadata.version") result.metadata_version = feature.feature_level;
      }
    }
  } catch (const protocol::DecodeError& e) {
    throw std::runtime_error(fmt::format("{} is corrupt: {}", path, e.what()));
  }
  if (result.metadata_version == 0) throw std::runtime_error(fmt::format("{} holds no metadata.version", path));
  return result;
}

}  // namespace samsa::raft
