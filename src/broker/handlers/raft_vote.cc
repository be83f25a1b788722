// Vote (key 52): a candidate (or, with PreVote, a prospective) asks this voter
// for its vote (KIP-595, KIP-996).
#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/raft/server/raft_rpc.h"

namespace samsa::broker {

void handle_vote(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<protocol::VoteRequest>(body, ctx.api_version);
  if (!ctx.services->raft) {
    // This node runs no quorum (broker only): the sender's client treats
    // the error as a lost request and asks another voter.
    protocol::VoteResponse response;
    response.error_code = protocol::code(protocol::ErrorCode::NOT_CONTROLLER);
    return responder.send(response);
  }
  raft::serve_vote(*ctx.services->raft, request, [responder](const protocol::VoteResponse& response) mutable {
    responder.send(response);
  });
}

}  // namespace samsa::broker
