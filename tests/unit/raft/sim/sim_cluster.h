#pragma once
// The deterministic Raft simulation: real RaftClient instances in one process
// over a simulated network (loss, delay, reordering, partitions), clock and
// storage (crash, restart, loss of unflushed log tail). One seed is one run:
// a fault phase, then a heal and a liveness check. Invariants are checked
// after every step; the first violation ends the run.
#include <cstdint>
#include <string>

namespace samsa::raft::sim {

struct SimOptions {
  uint64_t seed = 1;
  int voters = 0;                   // 0: 3 or 5, chosen by the seed
  int observers = -1;               // -1: 1 or 2, chosen by the seed
  int64_t fault_phase_ms = 3000;    // faults happen only in this phase
  int64_t liveness_bound_ms = 4000; // after healing, a new entry must commit by then
  bool grant_multiple_votes = false;  // the deliberately broken rule
  bool corrupt_snapshots = false;     // nodes snapshot a state one record off (the checker must see it)
  // Entries carry real metadata records decided by the active controller and
  // every node keeps a MetadataImage (sim_metadata.h): -1 in a quarter of
  // the seeds (chosen by the seed), 0 never, 1 always.
  int controller = -1;
  // KIP-853: the leader adds and removes voters during the fault phase: -1 in
  // half the seeds (chosen by the seed), 0 never, 1 always.
  int voter_changes = -1;
  bool trace = false;                 // print role changes and faults to stderr
  // Senders hear of refused connections (a dead node, some lost requests):
  // RaftClient::on_request_failed. False: every failure is silence (the
  // contrast for the fast-failover figures).
  bool refusals = true;
};

struct SimResult {
  bool ok = true;
  std::string failure;  // what broke, and when
  int64_t leaders_elected = 0;
  int64_t committed = 0;  // committed offsets (records) at the end
  int64_t crashes = 0;
  int64_t partitions = 0;
  int64_t snapshots_loaded = 0;  // snapshots fetched from a leader (a lagging or empty node)
  bool controller = false;       // the run used the metadata state machine
  int64_t images_compared = 0;   // node images compared with the committed log's
  int64_t voter_changes = 0;     // AddRaftVoter/RemoveRaftVoter changes the leader appended
  // When the newest leader died for good at the heal: ms until a leader of
  // a later epoch was elected (-1: it did not die, or none was elected).
  int64_t failover_ms = -1;
};

SimResult run_simulation(const SimOptions& options);

}  // namespace samsa::raft::sim
