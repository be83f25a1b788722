#include "samsa/raft/server/raft_rpc.h"

#include "samsa/protocol/error_code.h"
#include "samsa/raft/consensus/raft_wire.h"
#include "samsa/raft/server/raft_manager.h"

namespace samsa::raft {

namespace {

using protocol::ErrorCode;

bool other_cluster(const RaftManager& raft, const std::optional<std::string>& cluster_id) {
  return cluster_id && raft.cluster_id() && *cluster_id != *raft.cluster_id();
}

template <typename Response>
Response top_level_error(ErrorCode error) {
  Response r;
  r.error_code = protocol::code(error);
  return r;
}

// Hands `payload` from `from` to the manager; the answer of type Answer
// (a raft_messages.h response) is converted by `to_wire`.
template <typename Answer, typename Response, typename ToWire>
void serve(RaftManager& raft, NodeId from, RaftPayload payload, std::function<void(Response)> done, ToWire to_wire) {
  raft.handle_request(from, std::move(payload),
                      [done = std::move(done), to_wire](std::optional<RaftPayload> answer) {
                        const Answer* a = answer ? std::get_if<Answer>(&*answer) : nullptr;
                        if (!a) return done(top_level_error<Response>(ErrorCode::REQUEST_TIMED_OUT));
                        done(to_wire(*a));
                      });
}

}  // namespace

void serve_vote(RaftManager& raft, const protocol::VoteRequest& request,
                std::function<void(protocol::VoteResponse)> done) {
  if (other_cluster(raft, request.cluster_id))
    return done(top_level_error<protocol::VoteResponse>(ErrorCode::INCONSISTENT_CLUSTER_ID));
  auto m = wire::from_wire(request);
  if (!m) return done(top_level_error<protocol::VoteResponse>(ErrorCode::INVALID_REQUEST));
  NodeId from = m->candidate_id;
  serve<VoteResponse>(raft, from, std::move(*m), std::move(done),
                      [](const VoteResponse& a) { return wire::to_wire(a); });
}

void serve_begin_quorum_epoch(RaftManager& raft, const protocol::BeginQuorumEpochRequest& request,
                              std::function<void(protocol::BeginQuorumEpochResponse)> done) {
  if (other_cluster(raft, request.cluster_id))
    return done(top_level_error<protocol::BeginQuorumEpochResponse>(ErrorCode::INCONSISTENT_CLUSTER_ID));
  auto m = wire::from_wire(request);
  if (!m) return done(top_level_error<protocol::BeginQuorumEpochResponse>(ErrorCode::INVALID_REQUEST));
  NodeId from = m->leader_id;
  serve<QuorumEpochResponse>(raft, from, std::move(*m), std::move(done),
                             [](const QuorumEpochResponse& a) { return wire::to_begin_wire(a); });
}

void serve_end_quorum_epoch(RaftManager& raft, const protocol::EndQuorumEpochRequest& request,
                            std::function<void(protocol::EndQuorumEpochResponse)> done) {
  if (other_cluster(raft, request.cluster_id))
    return done(top_level_error<protocol::EndQuorumEpochResponse>(ErrorCode::INCONSISTENT_CLUSTER_ID));
  auto m = wire::from_wire(request);
  if (!m) return done(top_level_error<protocol::EndQuorumEpochResponse>(ErrorCode::INVALID_REQUEST));
  NodeId from = m->leader_id;
  serve<QuorumEpochResponse>(raft, from, std::move(*m), std::move(done),
                             [](const QuorumEpochResponse& a) { return wire::to_end_wire(a); });
}

void serve_fetch(RaftManager& raft, const protocol::FetchRequest& request,
                 std::function<void(protocol::FetchResponse)> done) {
  if (other_cluster(raft, request.cluster_id))
    return done(top_level_error<protocol::FetchResponse>(ErrorCode::INCONSISTENT_CLUSTER_ID));
  auto m = wire::from_wire(request);
  if (!m) return done(top_level_error<protocol::FetchResponse>(ErrorCode::INVALID_REQUEST));
  NodeId from = wire::fetch_replica_id(request);
  serve<FetchResponse>(raft, from, std::move(*m), std::move(done), [&raft](const FetchResponse& a) {
    protocol::FetchResponse w = wire::to_wire(a);
    // KIP-853 (Fetch v17 NodeEndpoints): where the leader it names listens,
    // so an observer that found it through a bootstrap server can fetch.
    auto endpoints = raft.voter_endpoints();
    if (auto it = endpoints.find(a.leader_id); a.leader_id != kNoNode && it != endpoints.end())
      w.node_endpoints.push_back({a.leader_id, it->second.host, it->second.port, std::nullopt, {}});
    return w;
  });
}

void serve_fetch_snapshot(RaftManager& raft, const protocol::FetchSnapshotRequest& request,
                          std::function<void(protocol::FetchSnapshotResponse)> done) {
  if (other_cluster(raft, request.cluster_id))
    return done(top_level_error<protocol::FetchSnapshotResponse>(ErrorCode::INCONSISTENT_CLUSTER_ID));
  auto m = wire::from_wire(request);
  if (!m) return done(top_level_error<protocol::FetchSnapshotResponse>(ErrorCode::INVALID_REQUEST));
  NodeId from = m->replica_id;
  serve<FetchSnapshotResponse>(raft, from, std::move(*m), std::move(done),
                               [](const FetchSnapshotResponse& a) { return wire::to_wire(a); });
}

}  // namespace samsa::raft
