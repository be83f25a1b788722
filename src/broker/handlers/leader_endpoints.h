#pragma once
// KIP-951: a Produce (v10+) or Fetch (v16+) answer that turns a partition
// away with NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH names its current
// leader (current_leader, set by the handler) and lists in node_endpoints
// where each such leader listens on the listener the request came in on, so
// the client moves to it without a Metadata round trip. Fenced or unknown
// brokers are left out (the client then refreshes its metadata as before).
#include <set>
#include <string>

#include "samsa/broker/metadata_image.h"
#include "samsa/protocol/error_code.h"

namespace samsa::broker {

inline bool names_new_leader(int16_t error_code, int32_t leader_id) {
  return leader_id >= 0 && (error_code == protocol::code(protocol::ErrorCode::NOT_LEADER_OR_FOLLOWER) ||
                            error_code == protocol::code(protocol::ErrorCode::FENCED_LEADER_EPOCH));
}

template <typename Response>
void add_leader_endpoints(const MetadataImage& image, const std::string& listener, const std::set<int32_t>& leaders,
                          Response& response) {
  for (int32_t id : leaders) {
    auto it = image.brokers.find(id);
    if (it == image.brokers.end() || it->second.fenced) continue;
    const BrokerEndpoint* endpoint = it->second.endpoint(listener);
    if (endpoint == nullptr) continue;
    typename decltype(response.node_endpoints)::value_type n;
    n.node_id = id;
    n.host = endpoint->host;
    n.port = endpoint->port;
    n.rack = it->second.rack;
    response.node_endpoints.push_back(std::move(n));
  }
}

}  // namespace samsa::broker
