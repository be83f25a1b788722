// The simulation's replicated state machine: what the leader writes (numbers,
// or metadata records decided by the active controller), how every node
// applies committed entries, snapshots and loads snapshots.
#include "sim_cluster_impl.h"

namespace samsa::raft::sim::detail {

std::vector<std::string> Cluster::next_write(Node& n) {
  if (!controller_) {  // a write is a batch of 1..4 records (one entry)
    std::vector<std::string> records;
    for (int64_t i = 1 + rng_.next(4); i > 0; --i) records.push_back(std::to_string(++next_value_));
    return records;
  }
  if (n.controller_epoch != n.client->epoch()) {
    // Just elected: nothing appended since its LeaderChange entry.
    n.controller_epoch = n.client->epoch();
    n.controller_start = n.log.end_offset();
    n.pending.clear();
  }
  // As Kafka's new active controller: only once everything up to its own
  // epoch's start is applied (MetadataListener::handle_leader_change).
  if (n.state.applied < n.controller_start) return {};
  std::erase_if(n.pending, [&](const MemoryLog::Batch& b) { return b.end() <= n.state.applied; });
  ImagePtr image = n.image;
  for (const auto& b : n.pending) image = apply_entry(image, b);
  return controller_write(*image, n.log.end_offset(), rng_);
}

void Cluster::apply_and_snapshot(Node& n) {
  // A snapshot fetched from the leader replaces the state (the server's
  // MetadataListener::handle_load_snapshot).
  if (auto id = n.client->take_loaded_snapshot()) {
    load_snapshot(n, *id);
    ++result_.snapshots_loaded;
  }
  // Apply what is committed, entry by entry (handle_commit).
  Offset hw = n.client->high_watermark();
  const auto& batches = n.log.batches();
  auto it = std::lower_bound(batches.begin(), batches.end(), n.state.applied,
                             [](const MemoryLog::Batch& b, Offset o) { return b.base < o; });
  for (; it != batches.end() && it->end() <= hw; ++it) {
    if (it->base != n.state.applied) throw std::logic_error("applied state is not at a batch of the log");
    n.state.apply(*it);
    if (controller_) {
      n.image = apply_entry(n.image, *it);
      // Comparing every image on every step would dominate the run time;
      // a sample, plus every snapshot and load and the end, covers it.
      if (rng_.chance(0.05)) compare_image(n);
    }
  }
  // Every node snapshots its own state now and then and trims its log.
  Offset last = n.log.latest_snapshot() ? n.log.latest_snapshot()->offset : 0;
  if (n.state.applied - last >= snapshot_every_) {
    SimState snap = n.state;
    if (options_.corrupt_snapshots) ++snap.records;
    // The voter set in force at its offset, when it is not the initial one
    // (a snapshot naming none means the initial set: the content, and so
    // the chunked transfers, stay as small as without KIP-853).
    std::string content = encode_snapshot(snap, n.image);
    std::vector<NodeId> voters = voter_ids(n.client->voters_at(n.state.applied));
    std::vector<NodeId> initial;
    for (size_t i = 1; i <= initial_voters_; ++i) initial.push_back(static_cast<NodeId>(i));
    if (voters != initial)
      content = snapshot_with_voters(std::move(content), voters);
    n.client->create_snapshot(OffsetAndEpoch{n.state.applied, n.state.last_epoch}, std::move(content));
  }
}

}  // namespace samsa::raft::sim::detail
