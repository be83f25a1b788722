// KIP-853 in the simulation: while faults happen, the leader adds an observer
// as a voter (once it is caught up) or removes a voter other than itself,
// one change at a time, so the voter set moves between the initial size and
// one more. The checker then holds every invariant under the set in force.
#include "sim_cluster_impl.h"

namespace samsa::raft::sim::detail {

void Cluster::maybe_change_voters(Node& leader) {
  if (!voter_changes_ || !rng_.chance(0.01)) return;
  const RaftClient& c = *leader.client;
  std::vector<NodeId> current = c.config().voters;
  RaftClient::VoterChange change;
  NodeId target = kNoNode;
  if (current.size() > initial_voters_) {
    std::vector<NodeId> others;
    for (NodeId v : current)
      if (v != leader.id) others.push_back(v);
    target = others[static_cast<size_t>(rng_.next(static_cast<int64_t>(others.size())))];
    change = leader.client->remove_voter(target);
  } else {
    std::vector<NodeId> others;
    for (auto& n : nodes_)
      if (!c.config().is_voter(n->id)) others.push_back(n->id);
    if (others.empty()) return;
    target = others[static_cast<size_t>(rng_.next(static_cast<int64_t>(others.size())))];
    // From now on it may vote and lead: it is never wiped again, and the
    // checker treats it as a voter (before the change reaches any node).
    node(target).voter = true;
    change = leader.client->add_voter(voter_with_id(target));
  }
  if (change.error != protocol::ErrorCode::NONE) return;
  ++result_.voter_changes;
  checker_.on_voters_proposed(leader.client->config().voters);
  if (options_.trace)
    fmt::print(stderr, "t={} leader {} {} voter {} (set in force from offset {})\n", time_.now_ms(), leader.id,
               current.size() > initial_voters_ ? "removes" : "adds", target, change.offset - 1);
}

}  // namespace samsa::raft::sim::detail
