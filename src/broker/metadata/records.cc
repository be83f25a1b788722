#include "samsa/broker/metadata/records.h"

#include "samsa/raft/metadata_record_frame.h"

namespace samsa::broker::metadata {

namespace {
// metadata.version feature levels (Kafka's MetadataVersion).
constexpr int16_t kIbp33Iv3 = 7;   // RegisterBrokerRecord v1 (InControlledShutdown)
constexpr int16_t kIbp34Iv0 = 8;   // RegisterBrokerRecord v2 (IsMigratingZkBroker)
constexpr int16_t kIbp37Iv2 = 17;  // directory assignment: Partition(Change)Record v1, RegisterBrokerRecord v3
constexpr int16_t kIbp40Iv1 = 23;  // eligible leader replicas: Partition(Change)Record v2
}  // namespace

int16_t record_type(const AnyMetadataRecord& record) {
  return std::visit([](const auto& r) { return std::decay_t<decltype(r)>::kApiKey; }, record);
}

std::vector<uint8_t> frame(const RecordAndVersion& r) {
  return std::visit([&](const auto& record) { return raft::frame_metadata_record(record, r.version); }, r.record);
}

int16_t partition_record_version(int16_t mv) {
  if (mv >= kIbp40Iv1) return 2;
  if (mv >= kIbp37Iv2) return 1;
  return 0;
}

int16_t partition_change_record_version(int16_t mv) { return partition_record_version(mv); }

int16_t register_broker_record_version(int16_t mv) {
  if (mv >= kIbp37Iv2) return 3;
  if (mv >= kIbp34Iv0) return 2;
  if (mv >= kIbp33Iv3) return 1;
  return 0;
}

}  // namespace samsa::broker::metadata

namespace samsa::broker::metadata {

namespace {
constexpr std::string_view kSecurityProtocols[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};
}

std::string security_protocol_name(int16_t id) {
  if (id >= 0 && id < static_cast<int16_t>(std::size(kSecurityProtocols))) return std::string(kSecurityProtocols[id]);
  return "UNKNOWN(" + std::to_string(id) + ")";
}

int16_t security_protocol_id(std::string_view name) {
  for (size_t i = 0; i < std::size(kSecurityProtocols); ++i)
    if (kSecurityProtocols[i] == name) return static_cast<int16_t>(i);
  return -1;
}

}  // namespace samsa::broker::metadata
