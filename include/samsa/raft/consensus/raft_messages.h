#pragma once
// RPC payloads of the Raft client. These are plain structs holding exactly the
// single-partition fields of Kafka's messages that consensus reads; the server
// wiring maps them onto the generated codecs (include/samsa/protocol/gen):
//   VoteRequest          <- VoteRequest v2 Topics[0].Partitions[0]: ReplicaEpoch+1 / CandidateId /
//                           LastOffsetEpoch / LastOffset; PreVote (KIP-996, v2)
//   VoteResponse         <- VoteResponse: ErrorCode, LeaderId, LeaderEpoch, VoteGranted
//   BeginQuorumEpoch*    <- BeginQuorumEpochRequest/Response: LeaderId, LeaderEpoch, ErrorCode
//   EndQuorumEpoch*      <- EndQuorumEpochRequest/Response: LeaderId, LeaderEpoch,
//                           PreferredSuccessors, ErrorCode
//   FetchRequest         <- Fetch v13+ (ReplicaState.ReplicaId, MaxWaitMs, CurrentLeaderEpoch,
//                           FetchOffset, LastFetchedEpoch) for the __cluster_metadata partition
//   FetchResponse        <- ErrorCode, HighWatermark, DivergingEpoch{Epoch,EndOffset},
//                           CurrentLeader{LeaderId,LeaderEpoch}, SnapshotId{EndOffset,Epoch},
//                           Records (batches; base_offset is the first batch's base offset)
//   FetchSnapshot*       <- FetchSnapshotRequest/Response v0-1: ReplicaId, MaxBytes,
//                           CurrentLeaderEpoch, SnapshotId, Position / ErrorCode, SnapshotId,
//                           CurrentLeader, Size, Position, UnalignedRecords (the bytes)
// Correlation ids are the client's own; the wiring carries them as the Kafka
// request header's correlation id.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "samsa/raft/consensus/raft_types.h"

namespace samsa::raft {

// The subset of Kafka error codes the protocol uses (same numeric values).
enum class RaftError : int16_t {
  kNone = 0,
  kNotLeaderOrFollower = 6,
  kUnknownLeaderEpoch = 59,
  kFencedLeaderEpoch = 74,
  kInconsistentVoterSet = 79,
  kSnapshotNotFound = 98,
  kPositionOutOfRange = 99,
};

struct VoteRequest {
  Epoch candidate_epoch = 0;
  NodeId candidate_id = kNoNode;
  Epoch last_offset_epoch = 0;
  Offset last_offset = 0;  // the candidate's log end offset
  bool pre_vote = false;
};
struct VoteResponse {
  RaftError error = RaftError::kNone;
  Epoch leader_epoch = 0;  // the responder's epoch
  NodeId leader_id = kNoNode;
  bool vote_granted = false;
};

struct BeginQuorumEpochRequest {
  Epoch leader_epoch = 0;
  NodeId leader_id = kNoNode;
};
struct EndQuorumEpochRequest {
  Epoch leader_epoch = 0;
  NodeId leader_id = kNoNode;
  std::vector<NodeId> preferred_successors;
};
// BeginQuorumEpoch and EndQuorumEpoch share the response shape.
struct QuorumEpochResponse {
  RaftError error = RaftError::kNone;
  Epoch leader_epoch = 0;
  NodeId leader_id = kNoNode;
};

struct FetchRequest {
  Epoch current_leader_epoch = 0;
  NodeId replica_id = kNoNode;
  Offset fetch_offset = 0;
  Epoch last_fetched_epoch = 0;
  // FetchRequest.MaxWaitMs: the leader may hold a fetch with nothing new
  // for this long (0: answer at once).
  int64_t max_wait_ms = 0;
};
struct FetchResponse {
  RaftError error = RaftError::kNone;
  Epoch leader_epoch = 0;
  NodeId leader_id = kNoNode;
  Offset high_watermark = 0;
  std::optional<OffsetAndEpoch> diverging_epoch;
  // The fetch offset is below the leader's log start (or the fetcher diverges
  // below it): fetch this snapshot instead, then fetch from its offset.
  std::optional<OffsetAndEpoch> snapshot_id;
  Offset base_offset = 0;
  std::vector<Entry> records;
};

// KIP-630: a snapshot fetched in chunks by byte position.
struct FetchSnapshotRequest {
  Epoch current_leader_epoch = 0;
  NodeId replica_id = kNoNode;
  OffsetAndEpoch snapshot_id;
  int64_t position = 0;
  int32_t max_bytes = 0;
};
struct FetchSnapshotResponse {
  RaftError error = RaftError::kNone;
  Epoch leader_epoch = 0;
  NodeId leader_id = kNoNode;
  OffsetAndEpoch snapshot_id;
  int64_t size = 0;      // the whole snapshot's size in bytes
  int64_t position = 0;  // where `bytes` starts
  std::string bytes;
};

using RaftPayload = std::variant<VoteRequest, VoteResponse, BeginQuorumEpochRequest, EndQuorumEpochRequest,
                                 QuorumEpochResponse, FetchRequest, FetchResponse, FetchSnapshotRequest,
                                 FetchSnapshotResponse>;

struct RaftMessage {
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  int64_t correlation_id = 0;  // a response carries its request's id
  RaftPayload payload;
};

}  // namespace samsa::raft
