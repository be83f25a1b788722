#include "samsa/broker/replica/replica_selector.h"

#include <algorithm>

#include "samsa/broker/replica/partition.h"

namespace samsa::broker::replica {

int32_t select_rack_aware(std::string_view client_rack, const ReplicaView& leader,
                          const std::vector<ReplicaView>& followers) {
  if (client_rack.empty()) return -1;
  if (leader.rack && *leader.rack == client_rack) return -1;
  const ReplicaView* best = nullptr;
  for (const auto& f : followers) {
    if (!f.rack || *f.rack != client_rack) continue;
    if (best == nullptr || f.log_end_offset > best->log_end_offset ||
        (f.log_end_offset == best->log_end_offset && f.ms_since_caught_up < best->ms_since_caught_up))
      best = &f;
  }
  return best != nullptr ? best->broker_id : -1;
}

int32_t preferred_read_replica(const MetadataImage& image, const Partition& partition, std::string_view listener,
                               std::string_view client_rack, int64_t fetch_offset, int64_t now_ms) {
  if (client_rack.empty()) return -1;
  auto rack_of = [&](int32_t id) -> std::optional<std::string> {
    auto it = image.brokers.find(id);
    return it == image.brokers.end() ? std::nullopt : it->second.rack;
  };
  ReplicaView leader{partition.leader_id(), rack_of(partition.leader_id()), partition.log_end_offset(), 0};
  const std::vector<int32_t> isr = partition.isr();
  std::vector<ReplicaView> followers;
  for (const ReplicaState& r : partition.replica_states()) {
    if (std::find(isr.begin(), isr.end(), r.broker_id) == isr.end()) continue;
    if (r.log_end_offset < fetch_offset || r.log_start_offset > fetch_offset) continue;
    auto it = image.brokers.find(r.broker_id);
    if (it == image.brokers.end() || it->second.fenced || it->second.endpoint(std::string(listener)) == nullptr)
      continue;
    followers.push_back({r.broker_id, it->second.rack, r.log_end_offset, std::max<int64_t>(0, now_ms - r.last_caught_up_ms)});
  }
  return select_rack_aware(client_rack, leader, followers);
}

}  // namespace samsa::broker::replica
