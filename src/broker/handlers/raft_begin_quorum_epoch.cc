// BeginQuorumEpoch (key 53): a new leader announces its epoch to this voter
// (KIP-595).
#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/raft/server/raft_rpc.h"

namespace samsa::broker {

void handle_begin_quorum_epoch(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<protocol::BeginQuorumEpochRequest>(body, ctx.api_version);
  if (!ctx.services->raft) {
    // This node runs no quorum (broker only): the sender's client treats
    // the error as a lost request and asks another voter.
    protocol::BeginQuorumEpochResponse response;
    response.error_code = protocol::code(protocol::ErrorCode::NOT_CONTROLLER);
    return responder.send(response);
  }
  raft::serve_begin_quorum_epoch(*ctx.services->raft, request, [responder](const protocol::BeginQuorumEpochResponse& response) mutable {
    responder.send(response);
  });
}

}  // namespace samsa::broker
