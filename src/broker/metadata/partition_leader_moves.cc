// Leadership and ISR changes when a broker is fenced, shuts down, comes back
// or restarts uncleanly (Kafka's ReplicationControlManager#
// generateLeaderAndIsrUpdates): one PartitionChangeRecord per partition that
// changes, from build_partition_change with the topic's min.insync.replicas,
// unclean.leader.election.enable and the ELR feature.
#include <algorithm>

#include "samsa/broker/metadata/broker_lifecycle.h"
#include "samsa/broker/metadata/partition_change.h"

namespace samsa::broker::metadata {

namespace {

bool contains(const std::vector<int32_t>& v, int32_t id) { return std::find(v.begin(), v.end(), id) != v.end(); }

std::vector<int32_t> without(const std::vector<int32_t>& v, int32_t id) {
  std::vector<int32_t> out;
  for (int32_t r : v)
    if (r != id) out.push_back(r);
  return out;
}

// Runs `change` over every partition `select` picks.
template <typename Select, typename Change>
std::vector<RecordAndVersion> for_partitions(const MetadataImage& image, const ControllerDefaults& defaults,
                                             Select select, Change change) {
  std::vector<RecordAndVersion> out;
  for (const auto& [name, topic] : image.topics->by_name) {
    std::optional<PartitionChangeSettings> settings;  // per topic, computed once when needed
    for (const auto& [index, p] : topic->partitions) {
      if (!select(p)) continue;
      if (!settings) settings = partition_change_settings(image, *topic, defaults);
      if (auto r = build_partition_change(image, topic->id, p, change(p), *settings)) out.push_back(std::move(*r));
    }
  }
  return out;
}

}  // namespace

std::vector<RecordAndVersion> remove_broker_from_partitions(const MetadataImage& image, int32_t broker_id,
                                                            const ControllerDefaults& defaults) {
  return for_partitions(
      image, defaults, [&](const PartitionImage& p) { return contains(p.isr, broker_id) || p.leader == broker_id; },
      [&](const PartitionImage& p) {
        PartitionChangeRequest req;
        req.target_isr = without(p.isr, broker_id);
        req.acceptable_leader = [&image, broker_id](int32_t id) {
          return id != broker_id && active_broker(image, id);
        };
        return req;
      });
}

std::vector<RecordAndVersion> elect_leaderless_partitions(const MetadataImage& image, int32_t unfenced_broker,
                                                          const ControllerDefaults& defaults) {
  return for_partitions(
      image, defaults, [](const PartitionImage& p) { return p.leader < 0; },
      [&](const PartitionImage&) {
        PartitionChangeRequest req;
        req.acceptable_leader = [&image, unfenced_broker](int32_t id) {
          return id == unfenced_broker || active_broker(image, id);
        };
        return req;
      });
}

std::vector<RecordAndVersion> unclean_shutdown_records(const MetadataImage& image, int32_t broker_id,
                                                       const ControllerDefaults& defaults) {
  return for_partitions(
      image, defaults,
      [&](const PartitionImage& p) {
        return contains(p.isr, broker_id) || contains(p.eligible_leader_replicas, broker_id) ||
               p.leader == broker_id;
      },
      [&](const PartitionImage& p) {
        PartitionChangeRequest req;
        req.target_isr = without(p.isr, broker_id);
        req.unclean_shutdown_replicas = {broker_id};
        return req;
      });
}

bool leads_any_partition(const MetadataImage& image, int32_t broker_id) {
  for (const auto& [name, topic] : image.topics->by_name)
    for (const auto& [index, p] : topic->partitions)
      if (p.leader == broker_id) return true;
  return false;
}

}  // namespace samsa::broker::metadata
