#pragma once
// KIP-392, fetch from the closest replica: with replica.selector.class set
// to Kafka's RackAwareReplicaSelector, the leader answers a consumer's
// Fetch (v11+, which carries the consumer's client.rack as rack_id) with a
// preferred_read_replica in the consumer's rack; the consumer then fetches
// from that follower, which serves reads up to its high watermark.
//
// Candidates are the followers in the ISR whose log holds the fetch offset
// and that have an endpoint on the consumer's listener (Kafka's
// ReplicaManager#findPreferredReadReplica); among those in the client's
// rack the leader wins if it is there, else the one with the highest log
// end, then the most recently caught up. -1: read from the leader.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "samsa/broker/metadata_image.h"

namespace samsa::broker::replica {

class Partition;

inline constexpr std::string_view kRackAwareReplicaSelector =
    "org.apache.kafka.common.replica.RackAwareReplicaSelector";

struct ReplicaView {
  int32_t broker_id = -1;
  std::optional<std::string> rack;
  int64_t log_end_offset = -1;
  int64_t ms_since_caught_up = 0;
};

// RackAwareReplicaSelector#select over views that are all eligible.
int32_t select_rack_aware(std::string_view client_rack, const ReplicaView& leader,
                          const std::vector<ReplicaView>& followers);

// The preferred read replica for a consumer fetch at `fetch_offset` served
// by `partition` (which must lead), or -1.
int32_t preferred_read_replica(const MetadataImage& image, const Partition& partition, std::string_view listener,
                               std::string_view client_rack, int64_t fetch_offset, int64_t now_ms);

}  // namespace samsa::broker::replica
