#pragma once
// An immutable picture of cluster metadata that request handlers read without
// locks: writers build a new image and publish it; readers keep the one they
// loaded for as long as they need it.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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

  const BrokerEndpoint* endpoint(const std::string& listener) const {
    for (const auto& e : endpoints)
      if (e.listener == listener) return &e;
    return nullptr;
  }
};

struct MetadataImage {
  std::string cluster_id;
  int16_t metadata_version = 0;     // finalized metadata.version feature level
  int64_t features_epoch = -1;      // metadata offset at which features were last finalized
  std::map<int32_t, BrokerRegistration> brokers;
  std::map<int32_t, BrokerEndpoint> controllers;  // voter id -> endpoint
  int32_t quorum_leader_id = -1;                  // current KRaft leader, -1 while unknown

  // Kafka's KRaft brokers report a live broker as "controller" to clients,
  // which cannot talk to the quorum directly.
  int32_t client_visible_controller_id() const {
    for (const auto& [id, b] : brokers)
      if (!b.fenced) return id;
    return -1;
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
