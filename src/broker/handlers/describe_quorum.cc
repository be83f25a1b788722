// DescribeQuorum (key 55): the __cluster_metadata quorum as
// `kafka-metadata-quorum.sh describe --status / --replication` shows it.
// A controller answers for itself (NOT_LEADER_OR_FOLLOWER unless it leads);
// a broker forwards to the active controller, as Kafka's brokers do.
#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/raft/server/raft_rpc.h"

namespace samsa::broker {

void handle_describe_quorum(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<protocol::DescribeQuorumRequest>(body, ctx.api_version);
  if (!ctx.services->raft) {
    protocol::DescribeQuorumResponse response;
    response.error_code = protocol::code(protocol::ErrorCode::NOT_LEADER_OR_FOLLOWER);
    return responder.send(response);
  }
  raft::serve_describe_quorum(*ctx.services->raft, request, ctx.api_version,
                              /*forward=*/ctx.listener_kind == ListenerKind::kBroker,
                              [responder](const protocol::DescribeQuorumResponse& response) mutable {
                                responder.send(response);
                              });
}

}  // namespace samsa::broker
