#pragma once
// Configuration of one Raft client. Names follow Kafka's controller.quorum.*
// settings; defaults are Kafka's.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "samsa/raft/consensus/raft_types.h"
#include "samsa/raft/consensus/voter_set.h"

namespace samsa::raft {

struct RaftConfig {
  NodeId node_id = kNoNode;
  // The voter set in force: controller.quorum.voters (ids), or the initial
  // set of a dynamic quorum. Others are observers. With kraft_version 1 the
  // RaftClient replaces it by the newest Voters record in its log
  // (voter_set.h); read it through RaftClient::config().
  std::vector<NodeId> voters;
  // KIP-853: 0 = static voters (Voters records are neither written nor
  // obeyed; AddRaftVoter/RemoveRaftVoter fail with UNSUPPORTED_VERSION),
  // 1 = dynamic voters.
  int16_t kraft_version = 0;
  // controller.quorum.bootstrap.servers as node ids (Kafka numbers them -2,
  // -3, ...): a node that knows no voter yet (formatted with
  // --no-initial-controllers) asks them who leads, by an observer Fetch.
  std::vector<NodeId> bootstrap_ids;
  // kraft_version 1: the initial voters with their endpoints (same ids as
  // `voters`; empty: voters known by id only).
  std::vector<Voter> initial_voters;
  // kraft_version 1: the voter set a snapshot's content records (Kafka puts
  // a VotersRecord after the SnapshotHeader); nullopt if none. Unset: the
  // snapshot's set is not known and the initial set stays in force below it.
  std::function<std::optional<std::vector<Voter>>(const std::string& content)> snapshot_voters;
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
