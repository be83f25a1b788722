#include "samsa/broker/raft_options.h"

#include <algorithm>

#include "samsa/broker/meta_properties.h"
#include "samsa/raft/bootstrap_voters.h"

namespace samsa::broker {

raft::RaftManagerOptions raft_manager_options(const BrokerConfig& config, const std::string& cluster_id) {
  raft::RaftManagerOptions o;
  o.raft.node_id = config.node_id;
  for (const auto& v : config.controller_quorum_voters) {
    o.raft.voters.push_back(v.id);
    o.voter_endpoints[v.id] = net::Endpoint{v.host, v.port};
  }
  // KIP-853: without static voters the quorum is dynamic (kraft.version 1:
  // the voter set lives in the log). Its initial set is the one `storage
  // format --standalone / --initial-controllers` wrote; a node that knows no
  // voter yet (--no-initial-controllers) finds the leader through
  // controller.quorum.bootstrap.servers, numbered -2, -3, ... as Kafka does.
  if (config.controller_quorum_voters.empty()) {
    o.raft.kraft_version = 1;
    if (auto bootstrap = raft::read_bootstrap_voters(config.metadata_log_dir)) {
      const std::string listener =
          config.controller_listener_names.empty() ? "CONTROLLER" : config.controller_listener_names.front();
      for (const auto& v : bootstrap->voters) {
        if (v.endpoints.empty()) continue;
        const raft::VoterEndpoint* e = &v.endpoints.front();
        for (const auto& candidate : v.endpoints)
          if (candidate.listener == listener) e = &candidate;
        o.raft.voters.push_back(v.id);
        o.voter_endpoints[v.id] = net::Endpoint{e->host, e->port};
        raft::Voter voter;
        voter.voter_id = v.id;
        voter.voter_directory_id = v.directory_id;
        for (const auto& ep : v.endpoints) {
          raft::Voter::Endpoint out;
          out.name = ep.listener;
          out.host = ep.host;
          out.port = ep.port;
          voter.endpoints.push_back(std::move(out));
        }
        voter.kraft_version_feature.min_supported_version = v.min_kraft_version;
        voter.kraft_version_feature.max_supported_version = v.max_kraft_version;
        o.raft.initial_voters.push_back(std::move(voter));
      }
    }
    // KIP-853 UpdateRaftVoter: this controller as its voter record should
    // read (metadata dir's directory.id, advertised controller listeners,
    // kraft.version 0..1); the quorum updates the record when it differs,
    // e.g. after a restart on another port. Not without a concrete host and
    // port to advertise, or a directory id.
    auto meta = MetaProperties::read(config.metadata_log_dir);
    bool concrete = !config.advertised_controller_listeners.empty() &&
                    std::all_of(config.advertised_controller_listeners.begin(),
                                config.advertised_controller_listeners.end(),
                                [](const Listener& l) { return !l.host.empty() && l.port != 0; });
    if (config.is_controller() && concrete && meta && meta->directory_id) {
      raft::Voter self;
      self.voter_id = config.node_id;
      self.voter_directory_id = *meta->directory_id;
      for (const auto& l : config.advertised_controller_listeners) {
        raft::Voter::Endpoint e;
        e.name = l.name;
        e.host = l.host;
        e.port = l.port;
        self.endpoints.push_back(std::move(e));
      }
      self.kraft_version_feature.min_supported_version = 0;
      self.kraft_version_feature.max_supported_version = 1;
      o.self_voter = std::move(self);
    }
    raft::NodeId id = -2;
    for (const auto& s : config.controller_quorum_bootstrap_servers) {
      o.raft.bootstrap_ids.push_back(id);
      o.voter_endpoints[id--] = net::Endpoint{s.host, s.port};
    }
  }
  o.raft.election_timeout_ms = config.controller_quorum_election_timeout_ms;
  o.raft.election_backoff_max_ms = config.controller_quorum_election_backoff_max_ms;
  o.raft.fetch_timeout_ms = config.controller_quorum_fetch_timeout_ms;
  o.raft.request_timeout_ms = config.controller_quorum_request_timeout_ms;
  o.raft.retry_backoff_ms = config.controller_quorum_retry_backoff_ms;
  // Kafka's fixed 500 ms fetch long-poll, kept well inside the request and
  // fetch timeouts when those are set shorter (a parked fetch must be
  // answered before its request times out).
  o.raft.fetch_max_wait_ms = std::min<int64_t>(
      {500, o.raft.request_timeout_ms / 2, o.raft.fetch_timeout_ms / 2});
  if (!cluster_id.empty()) o.cluster_id = cluster_id;
  if (!config.controller_listener_names.empty()) o.controller_listener_name = config.controller_listener_names.front();
  o.metadata_dir = config.metadata_log_dir;
  o.log_config.segment_bytes = config.metadata_log_segment_bytes;
  o.log_config.segment_ms = config.metadata_log_segment_ms;
  o.log_config.retention_ms = -1;  // snapshots, not retention, bound this log
  return o;
}

}  // namespace samsa::broker
