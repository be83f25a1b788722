// The simulation's faults: crashes (losing the unflushed log tail, and for
// observers sometimes the whole disk), partitions, and the heal.
#include "sim_cluster_impl.h"

namespace samsa::raft::sim::detail {

Node* Cluster::pick_victim() {
  // Half the faults hit the leader: that is where elections, truncation and
  // uncommitted tails come from.
  if (rng_.chance(0.5))
    for (auto& n : nodes_)
      if (n->client && n->client->role() == Role::kLeader) return n.get();
  return nodes_[static_cast<size_t>(rng_.next(static_cast<int64_t>(nodes_.size())))].get();
}

void Cluster::crash(Node& n, int64_t max_down_ms) {
  int64_t now = time_.now_ms();
  n.client.reset();
  n.log.crash();
  refuse_unanswered(n.id);  // its connections are reset: parked fetches fail at their senders
  // Now and then an observer comes back with an empty disk (a new broker):
  // it must catch up, from the leader's snapshot when the log was trimmed.
  // (A voter may not: its vote and acked entries must survive.)
  if (!n.voter && rng_.chance(0.3)) {
    n.log = MemoryLog{};
    n.store = SimQuorumStateStore{};
    watch_log(n);
    checker_.on_wipe(n.id);
  }
  n.restart_ms = now + 10 + rng_.next(max_down_ms);
  ++result_.crashes;
  if (options_.trace) fmt::print(stderr, "t={} crash node {}\n", now, n.id);
}

void Cluster::inject_faults() {
  int64_t now = time_.now_ms();
  if (rng_.chance(crash_rate_)) {  // crash: the unflushed log tail is lost
    Node& n = *pick_victim();
    if (n.client) crash(n);
  }
  for (auto& n : nodes_)
    if (!n->client && now >= n->restart_ms) {
      start(*n);
      if (options_.trace) fmt::print(stderr, "t={} restart node {}\n", now, n->id);
    }
  if (!group_.empty() && now >= partition_end_ms_) group_.clear();
  if (group_.empty() && rng_.chance(partition_rate_)) {
    for (auto& n : nodes_) group_[n->id] = static_cast<int>(rng_.next(2));
    if (rng_.chance(0.5)) {  // or: cut one node (often the leader) off from all others
      NodeId lonely = pick_victim()->id;
      for (auto& [id, side] : group_) side = id == lonely ? 1 : 0;
    }
    partition_end_ms_ = now + 50 + rng_.next(800);
    ++result_.partitions;
    if (options_.trace) {
      std::string g;
      for (auto& [id, side] : group_) g += fmt::format(" {}:{}", id, side);
      fmt::print(stderr, "t={} partition{} until {}\n", now, g, partition_end_ms_);
    }
  }
}

void Cluster::heal() {
  group_.clear();
  drop_rate_ = 0;
  for (auto& n : nodes_)
    if (!n->client) start(*n);
  // Sometimes the leader dies for good at the heal: the others must elect a
  // successor (the minority left is then one voter).
  // (Only one: a deposed leader may not know it yet.)
  if (rng_.chance(0.3)) {
    Node* newest = nullptr;
    for (auto& n : nodes_)
      if (n->client->role() == Role::kLeader && (!newest || n->client->epoch() > newest->client->epoch()))
        newest = n.get();
    // Known KIP-853 liveness gap (Kafka's design has it too): a voter set is
    // in force as soon as appended, so after faults the node with the
    // longest log may be one its own log says is no voter (it was removed,
    // or its add was truncated away) while the others still count it: it
    // refuses their shorter logs and does not stand itself, and without the
    // dead leader no election can win. Seeds with voter changes therefore
    // keep every node at the heal; the others still lose their leader.
    if (voter_changes_) newest = nullptr;
    if (newest) {
      heal_crash_ms_ = time_.now_ms();
      heal_crash_epoch_ = newest->client->epoch();
      crash(*newest);
      newest->restart_ms = std::numeric_limits<int64_t>::max();
    }
  }
  if (options_.trace) fmt::print(stderr, "t={} heal\n", time_.now_ms());
}

}  // namespace samsa::raft::sim::detail
