#include "samsa/broker/metadata/broker_heartbeat_manager.h"

namespace samsa::broker::metadata {

void BrokerHeartbeatManager::reset(const MetadataImage& image, int64_t now_ms) {
  brokers_.clear();
  for (const auto& [id, b] : image.brokers) brokers_[id].last_contact_ms = now_ms;
}

void BrokerHeartbeatManager::touch(int32_t broker_id, int64_t now_ms, int64_t metadata_offset) {
  State& s = brokers_[broker_id];
  s.last_contact_ms = now_ms;
  s.heard_from = true;
  if (metadata_offset >= 0) s.metadata_offset = metadata_offset;
}

void BrokerHeartbeatManager::remove(int32_t broker_id) { brokers_.erase(broker_id); }

void BrokerHeartbeatManager::track_new(const MetadataImage& image, int64_t now_ms) {
  for (const auto& [id, b] : image.brokers)
    if (!brokers_.contains(id)) brokers_[id].last_contact_ms = now_ms;
}

bool BrokerHeartbeatManager::has_valid_session(const MetadataImage& image, int32_t broker_id, int64_t now_ms) const {
  auto b = image.brokers.find(broker_id);
  if (b == image.brokers.end() || b->second.fenced) return false;
  auto it = brokers_.find(broker_id);
  if (it == brokers_.end() || !it->second.heard_from) return false;
  return now_ms - it->second.last_contact_ms <= session_timeout_ms_;
}

std::vector<int32_t> BrokerHeartbeatManager::expired(const MetadataImage& image, int64_t now_ms) const {
  std::vector<int32_t> out;
  for (const auto& [id, b] : image.brokers) {
    if (b.fenced) continue;
    auto it = brokers_.find(id);
    if (it != brokers_.end() && now_ms - it->second.last_contact_ms > session_timeout_ms_) out.push_back(id);
  }
  return out;
}

void BrokerHeartbeatManager::set_controlled_shutdown_offset(int32_t broker_id, int64_t offset) {
  State& s = brokers_[broker_id];
  if (!s.controlled_shutdown_offset) s.controlled_shutdown_offset = offset;
}

std::optional<int64_t> BrokerHeartbeatManager::controlled_shutdown_offset(int32_t broker_id) const {
  auto it = brokers_.find(broker_id);
  return it == brokers_.end() ? std::nullopt : it->second.controlled_shutdown_offset;
}

bool BrokerHeartbeatManager::others_caught_up(const MetadataImage& image, int32_t broker_id, int64_t offset) const {
  for (const auto& [id, b] : image.brokers) {
    if (id == broker_id || b.fenced || b.in_controlled_shutdown) continue;
    if (metadata_offset(id) < offset) return false;
  }
  return true;
}

std::optional<int64_t> BrokerHeartbeatManager::last_contact_ms(int32_t broker_id) const {
  auto it = brokers_.find(broker_id);
  return it == brokers_.end() ? std::nullopt : std::optional<int64_t>(it->second.last_contact_ms);
}

int64_t BrokerHeartbeatManager::metadata_offset(int32_t broker_id) const {
  auto it = brokers_.find(broker_id);
  return it == brokers_.end() ? -1 : it->second.metadata_offset;
}

}  // namespace samsa::broker::metadata
