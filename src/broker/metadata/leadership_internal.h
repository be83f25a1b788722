#pragma once
// Helpers shared by the leadership decisions (preferred_election.cc,
// reassignment.cc).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "samsa/broker/metadata/records.h"
#include "samsa/broker/metadata_image.h"

namespace samsa::broker::metadata::detail {

inline bool contains(const std::vector<int32_t>& v, int32_t id) { return std::find(v.begin(), v.end(), id) != v.end(); }

// A broker that may lead: registered, unfenced and not in controlled shutdown
// (Kafka's isAcceptableLeader).
inline bool acceptable_leader(const MetadataImage& image, int32_t id) {
  auto it = image.brokers.find(id);
  return it != image.brokers.end() && !it->second.fenced && !it->second.in_controlled_shutdown;
}

// An empty change of one partition; fields left at their defaults mean
// "unchanged" when replayed.
inline protocol::PartitionChangeRecord change_of(const TopicImage& topic, int32_t partition) {
  protocol::PartitionChangeRecord r;
  r.topic_id = topic.id;
  r.partition_id = partition;
  return r;
}

}  // namespace samsa::broker::metadata::detail
