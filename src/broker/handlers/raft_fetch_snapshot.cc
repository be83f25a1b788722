// FetchSnapshot (key 59): a follower or observer that fell below the
// leader's log start fetches a __cluster_metadata snapshot in chunks
// (KIP-630).
#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/raft/server/raft_rpc.h"

namespace samsa::broker {

void handle_fetch_snapshot(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<protocol::FetchSnapshotRequest>(body, ctx.api_version);
  if (!ctx.services->raft) {
    // This node runs no quorum (broker only): the sender's client treats
    // the error as a lost request and asks another voter.
    protocol::FetchSnapshotResponse response;
    response.error_code = protocol::code(protocol::ErrorCode::NOT_CONTROLLER);
    return responder.send(response);
  }
  raft::serve_fetch_snapshot(*ctx.services->raft, request,
                             [responder](const protocol::FetchSnapshotResponse& response) mutable {
                               responder.send(response);
                             });
}

}  // namespace samsa::broker
