#pragma once
// Configuration of one Raft client. Names follow Kafka's controller.quorum.*
// settings; defaults are Kafka's.
#include <vector>

#include "samsa/raft/consensus/raft_types.h"

namespace samsa::raft {

struct RaftConfig {
  NodeId node_id = kNoNode;
  std::vector<NodeId> voters;               // controller.quorum.voters (ids); others are observers
  int64_t election_timeout_ms = 1000;       // controller.quorum.election.timeout.ms
  int64_t election_backoff_max_ms = 1000;   // controller.quorum.election.backoff.max.ms
  int64_t fetch_timeout_ms = 2000;          // controller.quorum.fetch.timeout.ms
  int64_t request_timeout_ms = 2000;        // controller.quorum.request.timeout.ms
  int64_t retry_backoff_ms = 20;            // controller.quorum.retry.backoff.ms
  // Fetch long-poll: the MaxWaitMs a follower's Fetch carries, i.e. how long
  // the leader may hold a fetch that has nothing new (Kafka's raft client
  // uses a fixed 500 ms, KafkaRaftClient.MAX_FETCH_WAIT_MS). Keep it well
  // below request_timeout_ms and fetch_timeout_ms.
  int64_t fetch_max_wait_ms = 500;
  // How long a follower waits before the next fetch when the last one brought
  // nothing. The leader's long-poll already paced it, so 0 by default.
  int64_t fetch_idle_backoff_ms = 0;
  size_t fetch_max_entries = 64;
  // Largest FetchSnapshot chunk (Kafka's raft client: 8 MiB).
  int32_t fetch_snapshot_max_bytes = 8 * 1024 * 1024;

  // TEST ONLY: grant a vote to a second candidate in an epoch. Breaks Raft on
  // purpose so the simulation can prove its invariants catch it.
  bool test_only_grant_multiple_votes = false;

  bool is_voter(NodeId id) const {
    for (NodeId v : voters)
      if (v == id) return true;
    return false;
  }
  size_t majority() const { return voters.size() / 2 + 1; }
};

}  // namespace samsa::raft
