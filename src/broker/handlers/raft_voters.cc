// AddRaftVoter (80), RemoveRaftVoter (81) and UpdateRaftVoter (82), KIP-853: the active
// controller (the Raft leader) changes the voter set and answers once it is
// committed. Any other node relays the request to the leader's controller
// listener and its answer back, so `kafka-metadata-quorum.sh
// add-controller / remove-controller` works through --bootstrap-server (a
// broker) or --bootstrap-controller (any controller).
#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/raft/server/raft_manager.h"
#include "samsa/raft/server/raft_rpc.h"

namespace samsa::broker {
namespace {

template <typename Response>
Response error_response(protocol::ErrorCode e) {
  Response r;
  r.error_code = protocol::code(e);
  r.error_message = std::string(protocol::error_name(e));
  return r;
}

// Relays `request` to the leader when this node does not lead and knows
// who does; false if it must answer itself.
template <typename Response, typename Request>
bool relay_to_leader(raft::RaftManager& raft, int16_t version, const Request& request, Responder& responder) {
  if (raft.status().role == raft::Role::kLeader) return false;
  auto leader = raft.leader_endpoint();
  if (!leader) return false;
  raft.kafka_client().call<Response>(*leader, version, request,
                                     [responder](std::optional<Response> r) mutable {
                                       if (r) return responder.send(*r);
                                       responder.send(error_response<Response>(
                                           protocol::ErrorCode::REQUEST_TIMED_OUT));
                                     });
  return true;
}

}  // namespace

void handle_add_raft_voter(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  using protocol::AddRaftVoterResponse;
  auto request = decode_request<protocol::AddRaftVoterRequest>(body, ctx.api_version);
  if (!ctx.services->raft)
    return responder.send(error_response<AddRaftVoterResponse>(protocol::ErrorCode::NOT_LEADER_OR_FOLLOWER));
  if (relay_to_leader<AddRaftVoterResponse>(*ctx.services->raft, ctx.api_version, request, responder)) return;
  raft::serve_add_raft_voter(*ctx.services->raft, request,
                             [responder](const AddRaftVoterResponse& r) mutable { responder.send(r); });
}

void handle_remove_raft_voter(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  using protocol::RemoveRaftVoterResponse;
  auto request = decode_request<protocol::RemoveRaftVoterRequest>(body, ctx.api_version);
  if (!ctx.services->raft)
    return responder.send(error_response<RemoveRaftVoterResponse>(protocol::ErrorCode::NOT_LEADER_OR_FOLLOWER));
  if (relay_to_leader<RemoveRaftVoterResponse>(*ctx.services->raft, ctx.api_version, request, responder)) return;
  raft::serve_remove_raft_voter(*ctx.services->raft, request,
                                [responder](const RemoveRaftVoterResponse& r) mutable { responder.send(r); });
}

// UpdateRaftVoter (82), KIP-853: controller to controller, never relayed:
// a node that does not lead answers NOT_LEADER_OR_FOLLOWER with the leader
// it knows, and the voter asks that one.
void handle_update_raft_voter(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  using protocol::UpdateRaftVoterResponse;
  auto request = decode_request<protocol::UpdateRaftVoterRequest>(body, ctx.api_version);
  if (!ctx.services->raft) {
    UpdateRaftVoterResponse r;
    r.error_code = protocol::code(protocol::ErrorCode::NOT_LEADER_OR_FOLLOWER);
    return responder.send(r);
  }
  raft::serve_update_raft_voter(*ctx.services->raft, request,
                                [responder](const UpdateRaftVoterResponse& r) mutable { responder.send(r); });
}

}  // namespace samsa::broker
