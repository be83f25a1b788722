#include "samsa/broker/metadata/image_records.h"

namespace samsa::broker::metadata {

namespace {

void add_features(const MetadataImage& image, std::vector<RecordAndVersion>& out) {
  if (image.metadata_version > 0) {
    protocol::FeatureLevelRecord r;
    r.name = std::string(kMetadataVersionFeature);
    r.feature_level = image.metadata_version;
    out.push_back({r, 0});
  }
  for (const auto& [name, level] : image.features) {
    protocol::FeatureLevelRecord r;
    r.name = name;
    r.feature_level = level;
    out.push_back({r, 0});
  }
}

void add_brokers(const MetadataImage& image, std::vector<RecordAndVersion>& out) {
  int16_t version = register_broker_record_version(image.metadata_version);
  for (const auto& [id, b] : image.brokers) {
    protocol::RegisterBrokerRecord r;
    r.broker_id = id;
    r.incarnation_id = b.incarnation_id;
    r.broker_epoch = b.epoch;
    for (const auto& e : b.endpoints) {
      protocol::RegisterBrokerRecord::BrokerEndpoint ep;
      ep.name = e.listener;
      ep.host = e.host;
      ep.port = e.port;
      ep.security_protocol = security_protocol_id(e.security_protocol);
      r.end_points.push_back(std::move(ep));
    }
    for (const auto& [name, range] : b.supported_features) {
      protocol::RegisterBrokerRecord::BrokerFeature f;
      f.name = name;
      f.min_supported_version = range.first;
      f.max_supported_version = range.second;
      r.features.push_back(std::move(f));
    }
    r.rack = b.rack;
    r.fenced = b.fenced;
    r.in_controlled_shutdown = b.in_controlled_shutdown;
    r.log_dirs = b.log_dirs;
    out.push_back({std::move(r), version});
  }
}

void add_topics(const MetadataImage& image, std::vector<RecordAndVersion>& out) {
  int16_t version = partition_record_version(image.metadata_version);
  for (const auto& [name, topic] : image.topics->by_name) {
    protocol::TopicRecord t;
    t.name = name;
    t.topic_id = topic->id;
    out.push_back({std::move(t), 0});
    for (const auto& [index, p] : topic->partitions) {
      protocol::PartitionRecord r;
      r.partition_id = index;
      r.topic_id = topic->id;
      r.replicas = p.replicas;
      r.isr = p.isr;
      r.removing_replicas = p.removing_replicas;
      r.adding_replicas = p.adding_replicas;
      r.leader = p.leader;
      r.leader_recovery_state = p.leader_recovery_state;
      r.leader_epoch = p.leader_epoch;
      r.partition_epoch = p.partition_epoch;
      r.directories = p.directories;
      if (version >= 2 && !p.eligible_leader_replicas.empty()) r.eligible_leader_replicas = p.eligible_leader_replicas;
      if (version >= 2 && !p.last_known_elr.empty()) r.last_known_elr = p.last_known_elr;
      out.push_back({std::move(r), version});
    }
  }
}

void add_configs(const MetadataImage& image, std::vector<RecordAndVersion>& out) {
  for (const auto& [resource, configs] : image.configs->resources) {
    for (const auto& [name, value] : *configs) {
      protocol::ConfigRecord r;
      r.resource_type = static_cast<int8_t>(resource.type);
      r.resource_name = resource.name;
      r.name = name;
      r.value = value;
      out.push_back({std::move(r), 0});
    }
  }
}

}  // namespace

std::vector<RecordAndVersion> image_to_records(const MetadataImage& image) {
  std::vector<RecordAndVersion> out;
  add_features(image, out);
  add_brokers(image, out);
  add_topics(image, out);
  add_configs(image, out);
  if (image.next_producer_id >= 0) {
    protocol::ProducerIdsRecord r;
    r.broker_id = -1;
    r.broker_epoch = -1;
    r.next_producer_id = image.next_producer_id;
    out.push_back({r, 0});
  }
  return out;
}

}  // namespace samsa::broker::metadata
