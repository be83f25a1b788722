// EndQuorumEpoch (key 54): a resigning leader tells this voter to elect
// another (KIP-595).
#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/raft/server/raft_rpc.h"

namespace samsa::broker {

void handle_end_quorum_epoch(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<protocol::EndQuorumEpochRequest>(body, ctx.api_version);
  if (!ctx.services->raft) {
    // This node runs no quorum (broker only): the sender's client treats
    // the error as a lost request and asks another voter.
    protocol::EndQuorumEpochResponse response;
    response.error_code = protocol::code(protocol::ErrorCode::NOT_CONTROLLER);
    return responder.send(response);
  }
  raft::serve_end_quorum_epoch(*ctx.services->raft, request, [responder](const protocol::EndQuorumEpochResponse& response) mutable {
    responder.send(response);
  });
}

}  // namespace samsa::broker
