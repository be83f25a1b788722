// DescribeCluster (key 60): the brokers (or, asked on a controller listener,
// the controllers) and the cluster id.
#include "samsa/broker/authorized_operations.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/describe_cluster_request.h"
#include "samsa/protocol/gen/describe_cluster_response.h"

namespace samsa::broker {

using protocol::DescribeClusterRequest;
using protocol::DescribeClusterResponse;
using protocol::ErrorCode;

namespace {
constexpr int8_t kBrokersEndpoint = 1;
constexpr int8_t kControllersEndpoint = 2;
}  // namespace

void handle_describe_cluster(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<DescribeClusterRequest>(body, ctx.api_version);
  auto image = ctx.services->metadata.current();
  const std::string& listener = ctx.connection->listener_name;
  bool on_controller = ctx.listener_kind == ListenerKind::kController;

  DescribeClusterResponse response;
  response.endpoint_type = request.endpoint_type;
  response.cluster_id = image->cluster_id;
  if (request.include_cluster_authorized_operations) response.cluster_authorized_operations = kClusterOperations;

  // KIP-919: a broker only describes brokers, a controller only controllers,
  // and a controller needs v1 to know which one was meant.
  if (on_controller && ctx.api_version < 1) {
    response.error_code = protocol::code(ErrorCode::UNSUPPORTED_ENDPOINT_TYPE);
    response.error_message = "The controller listener answers DescribeCluster from version 1 on";
  } else if (request.endpoint_type != (on_controller ? kControllersEndpoint : kBrokersEndpoint)) {
    response.error_code = protocol::code(ErrorCode::MISMATCHED_ENDPOINT_TYPE);
    response.error_message = on_controller ? "The request was sent to a controller but asked for brokers"
                                           : "The request was sent to a broker but asked for controllers";
  } else if (on_controller) {
    for (const auto& [id, endpoint] : image->controllers) {
      DescribeClusterResponse::DescribeClusterBroker b;
      b.broker_id = id;
      b.host = endpoint.host;
      b.port = endpoint.port;
      response.brokers.push_back(std::move(b));
    }
    response.controller_id = image->quorum_leader_id;
  } else {
    for (const auto& [id, broker] : image->brokers) {
      if (broker.fenced) continue;
      const BrokerEndpoint* endpoint = broker.endpoint(listener);
      if (!endpoint) continue;
      DescribeClusterResponse::DescribeClusterBroker b;
      b.broker_id = id;
      b.host = endpoint->host;
      b.port = endpoint->port;
      b.rack = broker.rack;
      response.brokers.push_back(std::move(b));
    }
    response.controller_id = image->client_visible_controller_id();
  }
  responder.send(response);
}

}  // namespace samsa::broker
