#include "samsa/broker/raft_options.h"

namespace samsa::broker {

raft::RaftManagerOptions raft_manager_options(const BrokerConfig& config, const std::string& cluster_id) {
  raft::RaftManagerOptions o;
  o.raft.node_id = config.node_id;
  for (const auto& v : config.controller_quorum_voters) {
    o.raft.voters.push_back(v.id);
    o.voter_endpoints[v.id] = net::Endpoint{v.host, v.port};
  }
  o.raft.election_timeout_ms = config.controller_quorum_election_timeout_ms;
  o.raft.election_backoff_max_ms = config.controller_quorum_election_backoff_max_ms;
  o.raft.fetch_timeout_ms = config.controller_quorum_fetch_timeout_ms;
  o.raft.request_timeout_ms = config.controller_quorum_request_timeout_ms;
  o.raft.retry_backoff_ms = config.controller_quorum_retry_backoff_ms;
  if (!cluster_id.empty()) o.cluster_id = cluster_id;
  o.metadata_dir = config.metadata_log_dir;
  o.log_config.segment_bytes = config.metadata_log_segment_bytes;
  o.log_config.segment_ms = config.metadata_log_segment_ms;
  o.log_config.retention_ms = -1;  // snapshots, not retention, bound this log
  return o;
}

}  // namespace samsa::broker
