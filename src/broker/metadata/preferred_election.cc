// ElectLeaders (preferred and unclean) and the auto.leader.rebalance.enable
// check (Kafka's ReplicationControlManager#electLeaders with the election
// modes of PartitionChangeBuilder).
#include <map>

#include "leadership_internal.h"
#include "samsa/broker/metadata/leadership.h"

namespace samsa::broker::metadata {

using detail::acceptable_leader;
using detail::contains;
using protocol::ErrorCode;

namespace {

bool valid_clean_leader(const MetadataImage& image, const PartitionImage& p, int32_t id) {
  return id >= 0 && contains(p.isr, id) && acceptable_leader(image, id);
}

// The leader a preferred election ends with (Kafka's electPreferredLeader):
// the preferred replica, else the current leader if it may stay, else the
// first other ISR member that may lead, else none.
int32_t preferred_outcome(const MetadataImage& image, const PartitionImage& p) {
  if (!p.replicas.empty() && valid_clean_leader(image, p, p.replicas.front())) return p.replicas.front();
  if (valid_clean_leader(image, p, p.leader)) return p.leader;
  for (size_t i = 1; i < p.replicas.size(); ++i)
    if (valid_clean_leader(image, p, p.replicas[i])) return p.replicas[i];
  return -1;
}

ApiError elect_one(const MetadataImage& image, const std::string& topic_name, int32_t partition, ElectionType type,
                   std::vector<RecordAndVersion>& records) {
  const TopicImage* topic = image.topic(topic_name);
  if (topic == nullptr) return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "No such topic as " + topic_name};
  const PartitionImage* p = topic->partition(partition);
  if (p == nullptr)
    return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
            "No such partition as " + topic_name + "-" + std::to_string(partition)};
  const int16_t version = partition_change_record_version(image.metadata_version);
  protocol::PartitionChangeRecord r = detail::change_of(*topic, partition);

  if (type == ElectionType::kPreferred) {
    if (!p->replicas.empty() && p->leader == p->replicas.front()) return {ErrorCode::ELECTION_NOT_NEEDED, ""};
    int32_t leader = preferred_outcome(image, *p);
    if (leader == p->leader)
      return {ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE,
              "Failed to elect leader for partition " + topic_name + "-" + std::to_string(partition) +
                  " under strategy PreferredReplicaPartitionLeaderElectionStrategy"};
    r.leader = leader;
    records.push_back({std::move(r), version});
    return ApiError::none();
  }

  if (p->leader >= 0) return {ErrorCode::ELECTION_NOT_NEEDED, ""};
  for (int32_t id : p->replicas) {
    if (!valid_clean_leader(image, *p, id)) continue;
    r.leader = id;
    records.push_back({std::move(r), version});
    return ApiError::none();
  }
  // Unclean: the first live replica leads and is the whole ISR; records
  // only it has become committed, others truncate to it.
  for (int32_t id : p->replicas) {
    if (!acceptable_leader(image, id)) continue;
    r.leader = id;
    r.isr = std::vector<int32_t>{id};
    if (version >= 2 && (!p->eligible_leader_replicas.empty() || !p->last_known_elr.empty())) {
      r.eligible_leader_replicas = std::vector<int32_t>{};
      r.last_known_elr = std::vector<int32_t>{};
    }
    records.push_back({std::move(r), version});
    return ApiError::none();
  }
  return {ErrorCode::ELIGIBLE_LEADERS_NOT_AVAILABLE,
          "Failed to elect leader for partition " + topic_name + "-" + std::to_string(partition) +
              " under strategy UncleanPartitionLeaderElectionStrategy"};
}

}  // namespace

ElectLeadersResult elect_leaders(const MetadataImage& image, ElectionType type, const PartitionSelection& selection) {
  ElectLeadersResult out;
  if (!selection) {
    for (const auto& [name, topic] : image.topics->by_name) {
      ElectionTopicResult t{name, {}};
      for (const auto& [index, p] : topic->partitions) {
        ApiError e = elect_one(image, name, index, type, out.records);
        if (e.code != ErrorCode::ELECTION_NOT_NEEDED) t.partitions.push_back({index, std::move(e)});
      }
      out.topics.push_back(std::move(t));
    }
    return out;
  }
  for (const auto& [name, partitions] : *selection) {
    ElectionTopicResult t{name, {}};
    for (int32_t index : partitions) {
      // A partition named twice is decided once (the image has not moved).
      bool seen = false;
      for (const auto& done : t.partitions) seen = seen || done.partition == index;
      if (seen) continue;
      t.partitions.push_back({index, elect_one(image, name, index, type, out.records)});
    }
    out.topics.push_back(std::move(t));
  }
  return out;
}

std::vector<RecordAndVersion> balance_leaders(const MetadataImage& image, int32_t imbalance_percentage,
                                              size_t max_elections) {
  // Per preferred broker: how many partitions prefer it, how many of those
  // another broker leads.
  std::map<int32_t, std::pair<int64_t, int64_t>> counts;
  for (const auto& [name, topic] : image.topics->by_name)
    for (const auto& [index, p] : topic->partitions) {
      if (p.replicas.empty()) continue;
      auto& [preferred, not_led] = counts[p.replicas.front()];
      ++preferred;
      if (p.leader != p.replicas.front()) ++not_led;
    }
  std::vector<RecordAndVersion> out;
  const int16_t version = partition_change_record_version(image.metadata_version);
  for (const auto& [name, topic] : image.topics->by_name)
    for (const auto& [index, p] : topic->partitions) {
      if (out.size() >= max_elections) return out;
      if (p.replicas.empty()) continue;
      const int32_t preferred = p.replicas.front();
      if (p.leader == preferred) continue;
      const auto& [total, not_led] = counts[preferred];
      // Kafka's ratio test: imbalanced / preferred > percentage / 100.
      if (not_led * 100 <= int64_t{imbalance_percentage} * total) continue;
      if (!p.adding_replicas.empty() || !p.removing_replicas.empty()) continue;
      if (!valid_clean_leader(image, p, preferred)) continue;
      protocol::PartitionChangeRecord r = detail::change_of(*topic, index);
      r.leader = preferred;
      out.push_back({std::move(r), version});
    }
  return out;
}

}  // namespace samsa::broker::metadata
