#pragma once
// Serving the inbound Raft RPCs of a controller: decoded Kafka requests in,
// Kafka responses out, through RaftManager::handle_request. The broker's
// handlers (src/broker/handlers/raft_*.cc) are thin wrappers around these;
// tests serve them from a bare TcpServer.
//
// A request Raft cannot act on gets a top-level error the sender's client
// treats as a lost RPC: INCONSISTENT_CLUSTER_ID for another cluster's id,
// INVALID_REQUEST for one that names no __cluster_metadata partition 0,
// REQUEST_TIMED_OUT when the client gives no answer (shut down or dropped).
//
// Threading: callable from any thread; `done` runs exactly once, on the Raft
// thread or on the caller's.
#include <functional>

#include "samsa/protocol/gen/add_raft_voter_request.h"
#include "samsa/protocol/gen/add_raft_voter_response.h"
#include "samsa/protocol/gen/begin_quorum_epoch_request.h"
#include "samsa/protocol/gen/remove_raft_voter_request.h"
#include "samsa/protocol/gen/remove_raft_voter_response.h"
#include "samsa/protocol/gen/update_raft_voter_request.h"
#include "samsa/protocol/gen/update_raft_voter_response.h"
#include "samsa/protocol/gen/describe_quorum_request.h"
#include "samsa/protocol/gen/describe_quorum_response.h"
#include "samsa/protocol/gen/begin_quorum_epoch_response.h"
#include "samsa/protocol/gen/end_quorum_epoch_request.h"
#include "samsa/protocol/gen/end_quorum_epoch_response.h"
#include "samsa/protocol/gen/fetch_request.h"
#include "samsa/protocol/gen/fetch_response.h"
#include "samsa/protocol/gen/fetch_snapshot_request.h"
#include "samsa/protocol/gen/fetch_snapshot_response.h"
#include "samsa/protocol/gen/vote_request.h"
#include "samsa/protocol/gen/vote_response.h"

namespace samsa::raft {

class RaftManager;

void serve_vote(RaftManager& raft, const protocol::VoteRequest& request,
                std::function<void(protocol::VoteResponse)> done);
void serve_begin_quorum_epoch(RaftManager& raft, const protocol::BeginQuorumEpochRequest& request,
                              std::function<void(protocol::BeginQuorumEpochResponse)> done);
void serve_end_quorum_epoch(RaftManager& raft, const protocol::EndQuorumEpochRequest& request,
                            std::function<void(protocol::EndQuorumEpochResponse)> done);
// A Fetch of __cluster_metadata-0 (the controller listener's Fetch).
void serve_fetch(RaftManager& raft, const protocol::FetchRequest& request,
                 std::function<void(protocol::FetchResponse)> done);

// FetchSnapshot (KIP-630): a chunk of a __cluster_metadata snapshot.
void serve_fetch_snapshot(RaftManager& raft, const protocol::FetchSnapshotRequest& request,
                          std::function<void(protocol::FetchSnapshotResponse)> done);

// DescribeQuorum (KIP-595, KIP-853's v2 node endpoints) at `version`. A
// node that does not lead answers NOT_LEADER_OR_FOLLOWER for the partition,
// as Kafka's controllers do, unless `forward` (the broker listener: Kafka's
// brokers forward DescribeQuorum to the active controller) and a leader is
// known: then the leader's answer is relayed.
void serve_describe_quorum(RaftManager& raft, const protocol::DescribeQuorumRequest& request, int16_t version,
                           bool forward, std::function<void(protocol::DescribeQuorumResponse)> done);

// AddRaftVoter / RemoveRaftVoter (KIP-853) on the leader: answered once the
// new voter set is committed, or with the error (RaftManager::add_voter).
// The voter's directory id is recorded but not checked against the set.
void serve_add_raft_voter(RaftManager& raft, const protocol::AddRaftVoterRequest& request,
                          std::function<void(protocol::AddRaftVoterResponse)> done);
void serve_remove_raft_voter(RaftManager& raft, const protocol::RemoveRaftVoterRequest& request,
                             std::function<void(protocol::RemoveRaftVoterResponse)> done);
// UpdateRaftVoter (KIP-853), sent by a voter to the leader: every answer
// carries the leader this node knows as CurrentLeader.
void serve_update_raft_voter(RaftManager& raft, const protocol::UpdateRaftVoterRequest& request,
                             std::function<void(protocol::UpdateRaftVoterResponse)> done);

}  // namespace samsa::raft
