#pragma once
// One type per role of KIP-595 (+ prospective from KIP-996). The epoch, vote
// and leader id live in the client (they are persisted together); a role state
// holds what only that role needs: its timers and election tallies.
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>

#include "samsa/raft/consensus/leader_state.h"
#include "samsa/raft/consensus/raft_types.h"

namespace samsa::raft {

// No leader known in the epoch (a voter may have voted). Voters start a
// pre-vote when the election deadline passes; observers look for a leader.
struct UnattachedState {
  int64_t election_deadline_ms = 0;
  int64_t next_discovery_ms = 0;  // observers: when to ask a voter who leads
};

// Pre-vote (KIP-996): asks whether an election at epoch+1 could win without
// bumping the epoch, so a partitioned node cannot disrupt a healthy leader.
struct ProspectiveState {
  int64_t election_deadline_ms = 0;
  std::set<NodeId> granted;
  std::set<NodeId> rejected;
  std::map<NodeId, int64_t> last_sent_ms;
};

struct CandidateState {
  int64_t election_deadline_ms = 0;
  std::set<NodeId> granted;
  std::set<NodeId> rejected;
  std::map<NodeId, int64_t> last_sent_ms;
  bool backing_off = false;  // lost: waits until the deadline, then pre-votes again
};

// A snapshot a follower is fetching (KIP-630), chunk by chunk.
struct SnapshotFetch {
  OffsetAndEpoch id;
  std::string bytes;  // received so far; the next chunk starts at bytes.size()
};

struct FollowerState {
  int64_t fetch_deadline_ms = 0;  // no successful fetch by then: the leader is gone
  int64_t next_fetch_ms = 0;
  int64_t fetch_sent_ms = -1;  // -1: no fetch in flight
  // Only the answer to the latest fetch counts: an older one describes a log
  // this follower may since have truncated or extended.
  int64_t fetch_correlation = -1;
  int64_t last_fetch_ok_ms = -1;  // last successful fetch from the leader; -1: none yet
  // Fetches to the leader that failed fast (refused/reset connection) since
  // the last successful one (raft_client_unreachable.cc).
  int fetch_failures = 0;
  // Set while the leader's answer was "fetch this snapshot": FetchSnapshot
  // requests replace Fetch until it is complete.
  std::optional<SnapshotFetch> snapshot;
};

// A leader that gave up (check-quorum failed, or it restarted as leader):
// it tells the voters with EndQuorumEpoch and waits for a new election.
struct ResignedState {
  int64_t election_deadline_ms = 0;
  std::set<NodeId> acked;
  std::map<NodeId, int64_t> last_sent_ms;
};

using RoleState = std::variant<UnattachedState, ProspectiveState, CandidateState, FollowerState,
                               std::unique_ptr<LeaderState>, ResignedState>;

}  // namespace samsa::raft
