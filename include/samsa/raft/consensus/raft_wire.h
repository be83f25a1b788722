#pragma once
// Conversion between the Raft client's payloads (raft_messages.h) and the
// generated Kafka protocol structs, for the single __cluster_metadata
// partition. Pure functions: no I/O, no state; safe from any thread.
//
// The RaftMessage envelope (from / to / correlation id) is not part of these
// structs: the server wiring carries `from` as the request's replica/voter
// field, `to` as the connection it sends on, and the correlation id in the
// Kafka request header.
//
// Decoding returns nullopt when the message is not one Raft can act on: no
// (or more than one) __cluster_metadata partition-0 entry, a top-level error
// code (the whole request failed, which the client treats like a lost RPC),
// or Fetch records that are not well-formed uncompressed v2 batches with a
// valid CRC and contiguous offsets.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "samsa/protocol/gen/begin_quorum_epoch_request.h"
#include "samsa/protocol/gen/begin_quorum_epoch_response.h"
#include "samsa/protocol/gen/end_quorum_epoch_request.h"
#include "samsa/protocol/gen/end_quorum_epoch_response.h"
#include "samsa/protocol/gen/fetch_request.h"
#include "samsa/protocol/gen/fetch_response.h"
#include "samsa/protocol/gen/fetch_snapshot_request.h"
#include "samsa/protocol/gen/fetch_snapshot_response.h"
#include "samsa/protocol/gen/leader_change_message.h"
#include "samsa/protocol/gen/vote_request.h"
#include "samsa/protocol/gen/vote_response.h"
#include "samsa/raft/consensus/raft_messages.h"

namespace samsa::raft::wire {

inline constexpr const char* kMetadataTopic = "__cluster_metadata";
inline constexpr int32_t kMetadataPartition = 0;
// Kafka's metadata topic id: a Uuid with only its lowest bit set.
protocol::Uuid metadata_topic_id();

// Versions this module fills every consensus field of. A pre-vote needs
// Vote v2 (KIP-996's PreVote flag); earlier versions cannot carry one. Fetch
// starts at v13 (topic ids; the KIP-595 fields exist since v12).
inline constexpr int16_t kVoteMinVersion = 0;
inline constexpr int16_t kPreVoteMinVersion = 2;
inline constexpr int16_t kVoteMaxVersion = protocol::VoteRequest::kMaxVersion;
inline constexpr int16_t kQuorumEpochMinVersion = 0;
inline constexpr int16_t kQuorumEpochMaxVersion = protocol::BeginQuorumEpochRequest::kMaxVersion;
inline constexpr int16_t kFetchMinVersion = 13;
inline constexpr int16_t kFetchMaxVersion = protocol::FetchRequest::kMaxVersion;
inline constexpr int16_t kFetchSnapshotMinVersion = 0;
inline constexpr int16_t kFetchSnapshotMaxVersion = protocol::FetchSnapshotRequest::kMaxVersion;

// Request fields that are not in the payload: the quorum's cluster id and
// the node the request goes to (VoteRequest.VoterId).
struct RequestContext {
  std::optional<std::string> cluster_id;
  NodeId destination = kNoNode;
};

// On the wire (KIP-996) a pre-vote carries the prospective's CURRENT epoch
// and PreVote = true; our payload holds the epoch it would stand in
// (epoch + 1), so the conversion subtracts / adds one. A pre-vote must be
// sent at version >= kPreVoteMinVersion: at v0-1 the flag is dropped and the
// voter would take it for a real vote (the sender checks the version the
// peer supports). Returns nullopt never; kept optional for callers written
// against the earlier contract.
std::optional<protocol::VoteRequest> to_wire(const VoteRequest& m, const RequestContext& ctx);
protocol::VoteResponse to_wire(const VoteResponse& m);
protocol::BeginQuorumEpochRequest to_wire(const BeginQuorumEpochRequest& m, const RequestContext& ctx);
protocol::BeginQuorumEpochResponse to_begin_wire(const QuorumEpochResponse& m);
protocol::EndQuorumEpochRequest to_wire(const EndQuorumEpochRequest& m, const RequestContext& ctx);
protocol::EndQuorumEpochResponse to_end_wire(const QuorumEpochResponse& m);
// `replica_id` is the fetching node (RaftMessage::from).
protocol::FetchRequest to_wire(const FetchRequest& m, NodeId replica_id, const RequestContext& ctx);
// Each entry becomes one uncompressed batch (the first at base_offset, each
// next one where the previous ends), stamped with the entry's epoch, holding
// one record per entry record (value = the record). Control entries set the
// batch's control bit and give every record Kafka's control key
// {version 0, type control_type}.
protocol::FetchResponse to_wire(const FetchResponse& m);

std::optional<VoteRequest> from_wire(const protocol::VoteRequest& w);
std::optional<VoteResponse> from_wire(const protocol::VoteResponse& w);
std::optional<BeginQuorumEpochRequest> from_wire(const protocol::BeginQuorumEpochRequest& w);
std::optional<QuorumEpochResponse> from_wire(const protocol::BeginQuorumEpochResponse& w);
std::optional<EndQuorumEpochRequest> from_wire(const protocol::EndQuorumEpochRequest& w);
std::optional<QuorumEpochResponse> from_wire(const protocol::EndQuorumEpochResponse& w);
// The fetching node's id: ReplicaState.ReplicaId (v15+) or ReplicaId (< 15).
NodeId fetch_replica_id(const protocol::FetchRequest& w);
std::optional<FetchRequest> from_wire(const protocol::FetchRequest& w);
// Every batch becomes one entry (offsets must be contiguous; a control
// batch's records must share one control type); with no records,
// base_offset is `fetch_offset`, the offset the request asked for (what the
// client expects an empty answer to carry).
std::optional<FetchResponse> from_wire(const protocol::FetchResponse& w, Offset fetch_offset);

// FetchSnapshot: the snapshot's bytes travel as UnalignedRecords (they are
// the snapshot file's bytes from `position`, not necessarily whole batches).
// `replica_id` is the fetching node (RaftMessage::from).
protocol::FetchSnapshotRequest to_wire(const FetchSnapshotRequest& m, NodeId replica_id, const RequestContext& ctx);
protocol::FetchSnapshotResponse to_wire(const FetchSnapshotResponse& m);
std::optional<FetchSnapshotRequest> from_wire(const protocol::FetchSnapshotRequest& w);
std::optional<FetchSnapshotResponse> from_wire(const protocol::FetchSnapshotResponse& w);

// The value of the LeaderChange control record a new leader writes first:
// Kafka's LeaderChangeMessage v0.
std::string encode_leader_change(NodeId leader, const std::vector<NodeId>& voters,
                                 const std::vector<NodeId>& granting);
std::optional<protocol::LeaderChangeMessage> decode_leader_change(const std::string& value);

}  // namespace samsa::raft::wire
