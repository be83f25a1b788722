// Leadership and ISR changes when a broker is fenced, shuts down or comes
// back (Kafka's ReplicationControlManager#generateLeaderAndIsrUpdates with
// unclean election and ELR off): one PartitionChangeRecord per partition
// that changes, carrying only the fields that change.
#include <algorithm>

#include "samsa/broker/metadata/broker_lifecycle.h"

namespace samsa::broker::metadata {

namespace {

// A broker that may lead: registered, unfenced and not shutting down, or the
// one being unfenced in this very batch.
bool acceptable_leader(const MetadataImage& image, int32_t id, int32_t removed, int32_t unfencing) {
  if (id == removed) return false;
  if (id == unfencing) return true;
  auto it = image.brokers.find(id);
  return it != image.brokers.end() && !it->second.fenced && !it->second.in_controlled_shutdown;
}

// Kafka's choice: the first replica in assignment order that is in the ISR
// and acceptable.
int32_t choose_leader(const MetadataImage& image, const PartitionImage& p, const std::vector<int32_t>& isr,
                      int32_t removed, int32_t unfencing) {
  for (int32_t r : p.replicas)
    if (std::find(isr.begin(), isr.end(), r) != isr.end() && acceptable_leader(image, r, removed, unfencing))
      return r;
  return -1;
}

bool contains(const std::vector<int32_t>& v, int32_t id) { return std::find(v.begin(), v.end(), id) != v.end(); }

}  // namespace

std::vector<RecordAndVersion> remove_broker_from_partitions(const MetadataImage& image, int32_t broker_id) {
  std::vector<RecordAndVersion> out;
  const int16_t version = partition_change_record_version(image.metadata_version);
  for (const auto& [name, topic] : image.topics->by_name) {
    for (const auto& [index, p] : topic->partitions) {
      if (!contains(p.isr, broker_id) && p.leader != broker_id) continue;
      std::vector<int32_t> isr;
      for (int32_t r : p.isr)
        if (r != broker_id) isr.push_back(r);
      // Without ELR the last ISR member stays: it holds every committed
      // record, so it is the one to lead again when it comes back.
      if (isr.empty()) isr = p.isr;
      protocol::PartitionChangeRecord r;
      r.topic_id = topic->id;
      r.partition_id = index;
      bool changed = false;
      if (isr != p.isr) {
        r.isr = isr;
        changed = true;
      }
      const bool leader_ok = p.leader >= 0 && acceptable_leader(image, p.leader, broker_id, -1);
      if (!leader_ok) {
        int32_t leader = choose_leader(image, p, isr, broker_id, -1);
        if (leader != p.leader) {
          r.leader = leader;
          changed = true;
        }
      }
      if (changed) out.push_back({std::move(r), version});
    }
  }
  return out;
}

std::vector<RecordAndVersion> elect_leaderless_partitions(const MetadataImage& image, int32_t unfenced_broker) {
  std::vector<RecordAndVersion> out;
  const int16_t version = partition_change_record_version(image.metadata_version);
  for (const auto& [name, topic] : image.topics->by_name) {
    for (const auto& [index, p] : topic->partitions) {
      if (p.leader >= 0) continue;
      int32_t leader = choose_leader(image, p, p.isr, -1, unfenced_broker);
      if (leader < 0) continue;
      protocol::PartitionChangeRecord r;
      r.topic_id = topic->id;
      r.partition_id = index;
      r.leader = leader;
      out.push_back({std::move(r), version});
    }
  }
  return out;
}

bool leads_any_partition(const MetadataImage& image, int32_t broker_id) {
  for (const auto& [name, topic] : image.topics->by_name)
    for (const auto& [index, p] : topic->partitions)
      if (p.leader == broker_id) return true;
  return false;
}

}  // namespace samsa::broker::metadata
