#include "samsa/broker/metadata/metadata_delta.h"

#include <string>

#include "samsa/broker/metadata/partition_change.h"
#include "samsa/protocol/decode_error.h"
#include "samsa/raft/metadata_record_frame.h"
#include "samsa/util/logging.h"

namespace samsa::broker::metadata {

namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.image.MetadataDelta");
  return l;
}

// Record types Kafka defines that this image does not keep (ACLs, quotas,
// SCRAM, delegation tokens, ZK migration, metadata transactions, controller
// registrations). Skipped quietly; any other unknown type is logged louder.
bool known_but_unused(int16_t type) {
  switch (type) {
    case 10: case 11: case 14: case 18: case 19: case 21:
    case 22: case 23: case 24: case 25: case 26: case 27:
      return true;
    default:
      return false;
  }
}

template <typename Record>
Record decode_body(protocol::WireReader& in, int16_t version) {
  if (version < Record::kMinVersion || version > Record::kMaxVersion)
    throw protocol::DecodeError(std::string(Record::kName) + " version " + std::to_string(version) +
                                " is not supported");
  Record r;
  r.decode(in, version);
  if (!in.at_end())
    throw protocol::DecodeError(std::string(Record::kName) + " has " + std::to_string(in.remaining()) +
                                " trailing bytes");
  return r;
}

// Decodes the alternative of AnyMetadataRecord whose apiKey is `type`.
template <size_t I = 0>
bool decode_any(int16_t type, int16_t version, protocol::WireReader& in, AnyMetadataRecord& out) {
  if constexpr (I == std::variant_size_v<AnyMetadataRecord>) {
    return false;
  } else {
    using R = std::variant_alternative_t<I, AnyMetadataRecord>;
    if (R::kApiKey == type) {
      out = decode_body<R>(in, version);
      return true;
    }
    return decode_any<I + 1>(type, version, in, out);
  }
}

std::vector<int32_t> or_empty(const std::optional<std::vector<int32_t>>& v) { return v ? *v : std::vector<int32_t>{}; }

}  // namespace

MetadataDelta::MetadataDelta(std::shared_ptr<const MetadataImage> base) : image_(*base) {}

bool MetadataDelta::replay(std::span<const uint8_t> framed, int64_t offset) {
  protocol::WireReader in(framed);
  raft::MetadataRecordHeader header = raft::read_metadata_record_header(in);
  RecordAndVersion r;
  r.version = header.version;
  if (!decode_any(header.type, header.version, in, r.record)) {
    if (known_but_unused(header.type))
      log()->debug("Skipping metadata record type {} at offset {}: not kept in the image", header.type, offset);
    else
      log()->warn("Skipping metadata record of unknown type {} (version {}) at offset {}", header.type,
                  header.version, offset);
    image_.offset = offset;
    return false;
  }
  replay(r, offset);
  return true;
}

void MetadataDelta::replay(const RecordAndVersion& record, int64_t offset) {
  offset_ = offset;
  std::visit([this](const auto& r) { on(r); }, record.record);
  image_.offset = offset;
}

std::shared_ptr<const MetadataImage> MetadataDelta::apply() {
  auto out = std::make_shared<const MetadataImage>(image_);
  // The published image now shares these; further changes must copy again.
  topics_.reset();
  changed_topics_.clear();
  configs_.reset();
  return out;
}

TopicsImage& MetadataDelta::topics_mut() {
  if (!topics_) {
    topics_ = std::make_shared<TopicsImage>(*image_.topics);
    image_.topics = topics_;
  }
  return *topics_;
}

TopicImage* MetadataDelta::topic_mut(const protocol::Uuid& id) {
  if (auto it = changed_topics_.find(id); it != changed_topics_.end()) return it->second.get();
  const TopicImage* current = image_.topic(id);
  if (current == nullptr) return nullptr;
  auto copy = std::make_shared<TopicImage>(*current);
  TopicsImage& topics = topics_mut();
  topics.by_id[id] = copy;
  topics.by_name[copy->name] = copy;
  changed_topics_.emplace(id, copy);
  return copy.get();
}

ConfigsImage& MetadataDelta::configs_mut() {
  if (!configs_) {
    configs_ = std::make_shared<ConfigsImage>(*image_.configs);
    image_.configs = configs_;
  }
  return *configs_;
}

void MetadataDelta::on(const protocol::RegisterBrokerRecord& r) {
  BrokerRegistration b;
  b.id = r.broker_id;
  b.epoch = r.broker_epoch;
  b.incarnation_id = r.incarnation_id;
  b.rack = r.rack;
  b.fenced = r.fenced;
  b.in_controlled_shutdown = r.in_controlled_shutdown;
  b.log_dirs = r.log_dirs;
  for (const auto& e : r.end_points)
    b.endpoints.push_back(BrokerEndpoint{e.name, e.host, e.port, security_protocol_name(e.security_protocol)});
  for (const auto& f : r.features) b.supported_features[f.name] = {f.min_supported_version, f.max_supported_version};
  image_.brokers[r.broker_id] = std::move(b);
}

BrokerRegistration* MetadataDelta::broker_for_change(int32_t id, int64_t epoch, const char* what) {
  auto it = image_.brokers.find(id);
  if (it == image_.brokers.end()) {
    log()->error("Ignoring {} of broker {} at offset {}: the broker is not registered", what, id, offset_);
    return nullptr;
  }
  if (it->second.epoch != epoch) {
    log()->error("Ignoring {} of broker {} at offset {}: epoch {} does not match the registration's {}", what, id,
                 offset_, epoch, it->second.epoch);
    return nullptr;
  }
  return &it->second;
}

void MetadataDelta::on(const protocol::UnregisterBrokerRecord& r) {
  if (broker_for_change(r.broker_id, r.broker_epoch, "unregistration")) image_.brokers.erase(r.broker_id);
}

void MetadataDelta::on(const protocol::FenceBrokerRecord& r) {
  if (auto* b = broker_for_change(r.id, r.epoch, "fencing")) b->fenced = true;
}

void MetadataDelta::on(const protocol::UnfenceBrokerRecord& r) {
  if (auto* b = broker_for_change(r.id, r.epoch, "unfencing")) b->fenced = false;
}

void MetadataDelta::on(const protocol::BrokerRegistrationChangeRecord& r) {
  auto* b = broker_for_change(r.broker_id, r.broker_epoch, "registration change");
  if (b == nullptr) return;
  if (r.fenced == 1) b->fenced = true;         // BrokerRegistrationFencingChange.FENCE
  else if (r.fenced == -1) b->fenced = false;  // UNFENCE
  if (r.in_controlled_shutdown == 1) b->in_controlled_shutdown = true;
  if (!r.log_dirs.empty()) b->log_dirs = r.log_dirs;
}

void MetadataDelta::on(const protocol::TopicRecord& r) {
  if (image_.topic(r.topic_id) != nullptr || image_.topic(r.name) != nullptr) {
    log()->error("Ignoring TopicRecord for {} ({}) at offset {}: the name or id is already in use", r.name,
                 r.topic_id.to_string(), offset_);
    return;
  }
  auto topic = std::make_shared<TopicImage>();
  topic->name = r.name;
  topic->id = r.topic_id;
  TopicsImage& topics = topics_mut();
  topics.by_id[r.topic_id] = topic;
  topics.by_name[r.name] = topic;
  changed_topics_.emplace(r.topic_id, std::move(topic));
}

void MetadataDelta::on(const protocol::PartitionRecord& r) {
  TopicImage* topic = topic_mut(r.topic_id);
  if (topic == nullptr) {
    log()->error("Ignoring PartitionRecord {} of unknown topic id {} at offset {}", r.partition_id,
                 r.topic_id.to_string(), offset_);
    return;
  }
  PartitionImage p;
  p.partition_id = r.partition_id;
  p.replicas = r.replicas;
  p.isr = r.isr;
  p.removing_replicas = r.removing_replicas;
  p.adding_replicas = r.adding_replicas;
  p.leader = r.leader;
  p.leader_recovery_state = r.leader_recovery_state;
  p.leader_epoch = r.leader_epoch;
  p.partition_epoch = r.partition_epoch;
  p.directories = r.directories;
  p.eligible_leader_replicas = or_empty(r.eligible_leader_replicas);
  p.last_known_elr = or_empty(r.last_known_elr);
  topic->partitions[r.partition_id] = std::move(p);
}

void MetadataDelta::on(const protocol::PartitionChangeRecord& r) {
  const TopicImage* current = image_.topic(r.topic_id);
  if (current == nullptr || current->partition(r.partition_id) == nullptr) {
    log()->error("Ignoring PartitionChangeRecord for unknown partition {}-{} at offset {}", r.topic_id.to_string(),
                 r.partition_id, offset_);
    return;
  }
  // Kafka's PartitionRegistration#merge: the leader epoch moves only when
  // the record names a leader, the partition epoch on every change.
  merge_partition_change(topic_mut(r.topic_id)->partitions.at(r.partition_id), r);
}

void MetadataDelta::on(const protocol::RemoveTopicRecord& r) {
  const TopicImage* topic = image_.topic(r.topic_id);
  if (topic == nullptr) {
    log()->error("Ignoring RemoveTopicRecord for unknown topic id {} at offset {}", r.topic_id.to_string(), offset_);
    return;
  }
  std::string name = topic->name;
  TopicsImage& topics = topics_mut();
  topics.by_id.erase(r.topic_id);
  topics.by_name.erase(name);
  changed_topics_.erase(r.topic_id);
  // Like Kafka, a deleted topic's configs go with it.
  if (image_.config(ConfigResourceType::kTopic, name) != nullptr)
    configs_mut().resources.erase(ConfigResource{ConfigResourceType::kTopic, name});
}

void MetadataDelta::on(const protocol::ConfigRecord& r) {
  ConfigResource key{static_cast<ConfigResourceType>(r.resource_type), r.resource_name};
  const ConfigMap* current = image_.config(key.type, key.name);
  if (!r.value && (current == nullptr || !current->contains(r.name))) return;
  auto updated = current ? std::make_shared<ConfigMap>(*current) : std::make_shared<ConfigMap>();
  if (r.value)
    (*updated)[r.name] = *r.value;
  else
    updated->erase(r.name);
  ConfigsImage& configs = configs_mut();
  if (updated->empty())
    configs.resources.erase(key);
  else
    configs.resources[key] = std::move(updated);
}

void MetadataDelta::on(const protocol::FeatureLevelRecord& r) {
  if (r.name == kMetadataVersionFeature)
    image_.metadata_version = r.feature_level;
  else if (r.feature_level == 0)
    image_.features.erase(r.name);
  else
    image_.features[r.name] = r.feature_level;
  image_.features_epoch = offset_;
}

void MetadataDelta::on(const protocol::ProducerIdsRecord& r) { image_.next_producer_id = r.next_producer_id; }

std::shared_ptr<const MetadataImage> apply_record(const std::shared_ptr<const MetadataImage>& base,
                                                  std::span<const uint8_t> framed, int64_t offset) {
  MetadataDelta delta(base);
  delta.replay(framed, offset);
  return delta.apply();
}

std::shared_ptr<const MetadataImage> apply_batch(const std::shared_ptr<const MetadataImage>& base,
                                                 const protocol::BatchView& batch) {
  if (batch.header.is_control()) return base;
  MetadataDelta delta(base);
  for (const protocol::Record& record : protocol::decode_records(batch)) {
    int64_t offset = batch.header.base_offset + record.offset_delta;
    if (!record.value)
      throw protocol::DecodeError("metadata record at offset " + std::to_string(offset) + " has a null value");
    delta.replay(*record.value, offset);
  }
  return delta.apply();
}

std::vector<std::shared_ptr<const MetadataImage>> apply_batches(const std::shared_ptr<const MetadataImage>& base,
                                                                std::span<const uint8_t> buffer) {
  std::vector<std::shared_ptr<const MetadataImage>> images;
  std::shared_ptr<const MetadataImage> current = base;
  for (const protocol::BatchView& batch : protocol::split_batches(buffer, /*require_complete=*/false).batches) {
    if (batch.header.is_control()) continue;
    current = apply_batch(current, batch);
    images.push_back(current);
  }
  return images;
}

}  // namespace samsa::broker::metadata
