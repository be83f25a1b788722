// Broker registration, fencing, producer id blocks and bootstrap records
// (Kafka's ClusterControlManager, ProducerIdControlManager, BootstrapMetadata).
#include <limits>

#include "controller_internal.h"
#include "samsa/broker/metadata/broker_lifecycle.h"

namespace samsa::broker::metadata {

using protocol::ErrorCode;

namespace {
constexpr int16_t kIbp33Iv2 = 6;  // BrokerRegistrationChangeRecord
constexpr int16_t kIbp33Iv3 = 7;
constexpr int16_t kIbp37Iv2 = 17;

int16_t registration_change_version(int16_t mv) {
  if (mv >= kIbp37Iv2) return 2;
  if (mv >= kIbp33Iv3) return 1;
  return 0;
}

bool reserved_dir(const protocol::Uuid& id) {
  for (size_t i = 0; i < 15; ++i)
    if (id.bytes[i] != 0) return false;
  return id.bytes[15] < 100;  // Kafka reserves the first 100 ids
}

// Kafka's ClusterControlManager#processRegistrationFeature: the finalized
// level (metadata.version defaults to 1, other features to 0) must be within
// the range the broker supports.
std::optional<ApiError> unsupported_feature(const std::string& name, int16_t finalized,
                                            std::pair<int16_t, int16_t> range) {
  if (finalized >= range.first && finalized <= range.second) return std::nullopt;
  return ApiError{ErrorCode::UNSUPPORTED_VERSION,
                  "Unable to register because the broker does not support finalized version " +
                      std::to_string(finalized) + " of " + name + ". The broker wants a version between " +
                      std::to_string(range.first) + " and " + std::to_string(range.second) + ", inclusive."};
}

std::optional<ApiError> check_features(const MetadataImage& image, const BrokerRegistrationInput& in) {
  auto offered = [&](std::string_view name) -> const std::pair<int16_t, int16_t>* {
    for (const auto& [n, range] : in.features)
      if (n == name) return &range;
    return nullptr;
  };
  // Finalized features the broker does not list: it supports level 0 only.
  const auto* mv = offered(kMetadataVersionFeature);
  if (auto e = unsupported_feature(std::string(kMetadataVersionFeature), image.metadata_version,
                                   mv ? *mv : std::pair<int16_t, int16_t>{1, 1}))
    return e;
  for (const auto& [name, level] : image.features) {
    const auto* range = offered(name);
    if (auto e = unsupported_feature(name, level, range ? *range : std::pair<int16_t, int16_t>{0, 0})) return e;
  }
  for (const auto& [name, range] : in.features) {
    if (name == kMetadataVersionFeature) continue;
    auto it = image.features.find(name);
    if (auto e = unsupported_feature(name, it == image.features.end() ? 0 : it->second, range)) return e;
  }
  return std::nullopt;
}
}  // namespace

RegisterBrokerResult register_broker(const MetadataImage& image, const BrokerRegistrationInput& in,
                                     int64_t next_offset, std::optional<bool> old_session_alive,
                                     const ControllerDefaults& defaults) {
  RegisterBrokerResult out;
  if (!image.cluster_id.empty() && in.cluster_id != image.cluster_id) {
    out.error = {ErrorCode::INCONSISTENT_CLUSTER_ID,
                 "Expected cluster ID " + image.cluster_id + ", but got cluster ID " + in.cluster_id};
    return out;
  }
  auto existing = image.brokers.find(in.broker_id);
  const bool same_incarnation = existing != image.brokers.end() &&
                                existing->second.incarnation_id == in.incarnation_id && existing->second.epoch >= 0;
  if (existing != image.brokers.end() && !same_incarnation && old_session_alive.value_or(!existing->second.fenced)) {
    out.error = {ErrorCode::DUPLICATE_BROKER_REGISTRATION, "Another broker is registered with that broker id."};
    return out;
  }
  if (auto e = check_features(image, in)) {
    out.error = std::move(*e);
    return out;
  }
  if (same_incarnation) {
    // A retry of a registration that went through (its answer was lost).
    out.broker_epoch = existing->second.epoch;
    return out;
  }
  int16_t version = register_broker_record_version(image.metadata_version);
  if (version >= 3) {
    if (in.log_dirs.empty()) {
      out.error = {ErrorCode::INVALID_REGISTRATION, "No directories specified in request"};
      return out;
    }
    for (const auto& d : in.log_dirs)
      if (reserved_dir(d)) {
        out.error = {ErrorCode::INVALID_REGISTRATION, "Reserved directory ID in request"};
        return out;
      }
  }
  protocol::RegisterBrokerRecord r;
  r.broker_id = in.broker_id;
  r.incarnation_id = in.incarnation_id;
  // A new incarnation: unless the previous one shut down cleanly (it sends
  // the epoch it had), it may have lost its unflushed tail, so it leaves
  // every ISR and ELR and may not lead (KIP-966). An old process that was
  // not fenced yet leaves them in any case (fencing did it otherwise).
  if (existing != image.brokers.end()) {
    const bool clean = existing->second.epoch >= 0 && in.previous_broker_epoch == existing->second.epoch;
    if (!clean && existing->second.epoch >= 0)
      out.records = unclean_shutdown_records(image, in.broker_id, defaults);
    else if (!existing->second.fenced)
      out.records = remove_broker_from_partitions(image, in.broker_id, defaults);
  }
  const int64_t epoch = next_offset + static_cast<int64_t>(out.records.size());
  r.broker_epoch = epoch;
  r.rack = in.rack;
  r.fenced = true;
  for (const auto& l : in.listeners) {
    int16_t protocol_id = security_protocol_id(l.security_protocol);
    if (protocol_id < 0) {
      out.error = {ErrorCode::INVALID_REGISTRATION, "Unknown security protocol " + l.security_protocol};
      out.records.clear();
      return out;
    }
    protocol::RegisterBrokerRecord::BrokerEndpoint e;
    e.name = l.listener;
    e.host = l.host;
    e.port = l.port;
    e.security_protocol = protocol_id;
    r.end_points.push_back(std::move(e));
  }
  for (const auto& [name, range] : in.features) {
    protocol::RegisterBrokerRecord::BrokerFeature f;
    f.name = name;
    f.min_supported_version = range.first;
    f.max_supported_version = range.second;
    r.features.push_back(std::move(f));
  }
  if (version >= 3) r.log_dirs = in.log_dirs;
  out.broker_epoch = epoch;
  out.records.push_back({std::move(r), version});
  return out;
}

std::variant<RecordAndVersion, ApiError> fence_broker(const MetadataImage& image, int32_t broker_id, bool fenced) {
  auto it = image.brokers.find(broker_id);
  if (it == image.brokers.end())
    return ApiError{ErrorCode::BROKER_ID_NOT_REGISTERED, "No broker with id " + std::to_string(broker_id) + " found."};
  int64_t epoch = it->second.epoch;
  if (image.metadata_version >= kIbp33Iv2) {
    protocol::BrokerRegistrationChangeRecord r;
    r.broker_id = broker_id;
    r.broker_epoch = epoch;
    r.fenced = fenced ? 1 : -1;
    return RecordAndVersion{std::move(r), registration_change_version(image.metadata_version)};
  }
  if (fenced) {
    protocol::FenceBrokerRecord r;
    r.id = broker_id;
    r.epoch = epoch;
    return RecordAndVersion{r, 0};
  }
  protocol::UnfenceBrokerRecord r;
  r.id = broker_id;
  r.epoch = epoch;
  return RecordAndVersion{r, 0};
}

AllocateProducerIdsResult allocate_producer_ids(const MetadataImage& image, int32_t broker_id, int64_t broker_epoch) {
  AllocateProducerIdsResult out;
  auto it = image.brokers.find(broker_id);
  if (it == image.brokers.end()) {
    out.error = {ErrorCode::STALE_BROKER_EPOCH, "No broker registration found for broker " + std::to_string(broker_id)};
    return out;
  }
  if (it->second.epoch != broker_epoch) {
    out.error = {ErrorCode::STALE_BROKER_EPOCH, "Expected broker epoch " + std::to_string(it->second.epoch) +
                                                    ", but got broker epoch " + std::to_string(broker_epoch)};
    return out;
  }
  int64_t first = std::max<int64_t>(0, image.next_producer_id);
  if (first > std::numeric_limits<int64_t>::max() - kProducerIdBlockSize) {
    out.error = {ErrorCode::UNKNOWN_SERVER_ERROR, "Exhausted all producerIds."};
    return out;
  }
  out.block = {first, kProducerIdBlockSize};
  protocol::ProducerIdsRecord r;
  r.broker_id = broker_id;
  r.broker_epoch = broker_epoch;
  r.next_producer_id = first + kProducerIdBlockSize;
  out.records.push_back({r, 0});
  return out;
}

std::vector<RecordAndVersion> bootstrap_records(int16_t metadata_version,
                                                const std::map<std::string, int16_t>& features) {
  protocol::FeatureLevelRecord mv;
  mv.name = std::string(kMetadataVersionFeature);
  mv.feature_level = metadata_version;
  std::vector<RecordAndVersion> out{{mv, 0}};
  for (const auto& [name, level] : features) {
    if (name == kMetadataVersionFeature || level <= 0) continue;
    protocol::FeatureLevelRecord r;
    r.name = name;
    r.feature_level = level;
    out.push_back({std::move(r), 0});
  }
  return out;
}

}  // namespace samsa::broker::metadata
