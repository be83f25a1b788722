// Fetch (key 1) on the controller listener: a voter or observer replicates
// __cluster_metadata-0 from this node (KIP-595 pull replication); the broker
// listener's Fetch (fetch.cc) serves partitions.
#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/raft/server/raft_rpc.h"

namespace samsa::broker {

void handle_raft_fetch(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<protocol::FetchRequest>(body, ctx.api_version);
  if (!ctx.services->raft) {
    // This node runs no quorum (broker only): the sender's client treats
    // the error as a lost request and asks another voter.
    protocol::FetchResponse response;
    response.error_code = protocol::code(protocol::ErrorCode::NOT_CONTROLLER);
    return responder.send(response);
  }
  raft::serve_fetch(*ctx.services->raft, request, [responder](const protocol::FetchResponse& response) mutable {
    responder.send(response);
  });
}

}  // namespace samsa::broker
