#pragma once
// An immutable picture of cluster metadata that request handlers read without
// locks: writers build a new image and publish it; readers keep the one they
// loaded for as long as they need it.
//
// Topics and configs sit behind shared pointers to const data, so a new image
// made from an old one (see metadata/metadata_delta.h) shares every topic,
// every config resource and the topic tables it did not change.
#include <atomic>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "samsa/protocol/uuid.h"

namespace samsa::broker {

struct BrokerEndpoint {
  std::string listener;
  std::string host;
  uint16_t port = 0;
  std::string security_protocol;
};

struct BrokerRegistration {
  int32_t id = -1;
  std::vector<BrokerEndpoint> endpoints;
  std::optional<std::string> rack;
  bool fenced = false;
  // From RegisterBrokerRecord; -1 / zero for registrations made from config.
  int64_t epoch = -1;
  protocol::Uuid incarnation_id;
  bool in_controlled_shutdown = false;
  std::vector<protocol::Uuid> log_dirs;
  std::map<std::string, std::pair<int16_t, int16_t>, std::less<>> supported_features;  // name -> [min, max]

  const BrokerEndpoint* endpoint(const std::string& listener) const {
    for (const auto& e : endpoints)
      if (e.listener == listener) return &e;
    return nullptr;
  }
};

struct UuidLess {
  bool operator()(const protocol::Uuid& a, const protocol::Uuid& b) const { return a.bytes < b.bytes; }
};

// One partition as PartitionRecord / PartitionChangeRecord describe it.
struct PartitionImage {
  int32_t partition_id = -1;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> removing_replicas;
  std::vector<int32_t> adding_replicas;
  int32_t leader = -1;
  int8_t leader_recovery_state = 0;  // 0 RECOVERED, 1 RECOVERING
  int32_t leader_epoch = -1;
  int32_t partition_epoch = -1;
  std::vector<protocol::Uuid> directories;
  std::vector<int32_t> eligible_leader_replicas;
  std::vector<int32_t> last_known_elr;

  bool operator==(const PartitionImage&) const = default;
};

struct TopicImage {
  std::string name;
  protocol::Uuid id;
  std::map<int32_t, PartitionImage> partitions;

  const PartitionImage* partition(int32_t p) const {
    auto it = partitions.find(p);
    return it == partitions.end() ? nullptr : &it->second;
  }
};

struct TopicsImage {
  std::map<protocol::Uuid, std::shared_ptr<const TopicImage>, UuidLess> by_id;
  std::map<std::string, std::shared_ptr<const TopicImage>, std::less<>> by_name;

  const TopicImage* find(std::string_view name) const {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : it->second.get();
  }
  const TopicImage* find(const protocol::Uuid& id) const {
    auto it = by_id.find(id);
    return it == by_id.end() ? nullptr : it->second.get();
  }
};

// Kafka's ConfigResource.Type ids as ConfigRecord.ResourceType carries them.
enum class ConfigResourceType : int8_t {
  kUnknown = 0,
  kTopic = 2,
  kBroker = 4,
  kBrokerLogger = 8,
  kClientMetrics = 16,
  kGroup = 32,
};

// A BROKER resource named "" holds the cluster-wide dynamic defaults; any
// other BROKER name is a node id in decimal.
struct ConfigResource {
  ConfigResourceType type = ConfigResourceType::kUnknown;
  std::string name;
  auto operator<=>(const ConfigResource&) const = default;
  bool operator==(const ConfigResource&) const = default;
};

using ConfigMap = std::map<std::string, std::string, std::less<>>;

struct ConfigsImage {
  std::map<ConfigResource, std::shared_ptr<const ConfigMap>> resources;

  const ConfigMap* find(ConfigResourceType type, std::string_view name) const {
    auto it = resources.find(ConfigResource{type, std::string(name)});
    return it == resources.end() ? nullptr : it->second.get();
  }
};

namespace detail {
inline const std::shared_ptr<const TopicsImage>& empty_topics() {
  static const auto empty = std::make_shared<const TopicsImage>();
  return empty;
}
inline const std::shared_ptr<const ConfigsImage>& empty_configs() {
  static const auto empty = std::make_shared<const ConfigsImage>();
  return empty;
}
}  // namespace detail

inline constexpr std::string_view kMetadataVersionFeature = "metadata.version";

struct MetadataImage {
  std::string cluster_id;
  int16_t metadata_version = 0;     // finalized metadata.version feature level
  int64_t features_epoch = -1;      // metadata offset at which features were last finalized
  std::map<int32_t, BrokerRegistration> brokers;
  std::map<int32_t, BrokerEndpoint> controllers;  // voter id -> endpoint
  int32_t quorum_leader_id = -1;                  // current KRaft leader, -1 while unknown

  // Finalized features other than metadata.version (level > 0 only).
  std::map<std::string, int16_t, std::less<>> features;
  std::shared_ptr<const TopicsImage> topics = detail::empty_topics();  // never null
  std::shared_ptr<const ConfigsImage> configs = detail::empty_configs();  // never null
  // First id of the next producer id block; -1 until a ProducerIdsRecord.
  int64_t next_producer_id = -1;
  // Offset of the last record applied to this image; -1 for none.
  int64_t offset = -1;

  // Kafka's KRaft brokers report a live broker as "controller" to clients,
  // which cannot talk to the quorum directly.
  int32_t client_visible_controller_id() const {
    for (const auto& [id, b] : brokers)
      if (!b.fenced) return id;
    return -1;
  }

  const TopicImage* topic(std::string_view name) const { return topics->find(name); }
  const TopicImage* topic(const protocol::Uuid& id) const { return topics->find(id); }
  const ConfigMap* config(ConfigResourceType type, std::string_view name) const { return configs->find(type, name); }
  int32_t unfenced_broker_count() const {
    int32_t n = 0;
    for (const auto& [id, b] : brokers) n += b.fenced ? 0 : 1;
    return n;
  }
};

class MetadataCache {
 public:
  std::shared_ptr<const MetadataImage> current() const { return image_.load(std::memory_order_acquire); }
  void publish(std::shared_ptr<const MetadataImage> image) { image_.store(std::move(image), std::memory_order_release); }

 private:
  std::atomic<std::shared_ptr<const MetadataImage>> image_{std::make_shared<const MetadataImage>()};
};

}  // namespace samsa::broker
