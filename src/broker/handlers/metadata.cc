// Metadata (key 3): brokers as seen through the listener the client used,
// cluster id, a live broker as "controller", and the requested topics.
#include "samsa/broker/authorized_operations.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/metadata_request.h"
#include "samsa/protocol/gen/metadata_response.h"

namespace samsa::broker {

using protocol::ErrorCode;
using protocol::MetadataRequest;
using protocol::MetadataResponse;

void handle_metadata(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<MetadataRequest>(body, ctx.api_version);
  auto image = ctx.services->metadata.current();
  const std::string& listener = ctx.connection->listener_name;

  MetadataResponse response;
  for (const auto& [id, broker] : image->brokers) {
    if (broker.fenced) continue;
    const BrokerEndpoint* endpoint = broker.endpoint(listener);
    if (!endpoint) continue;  // brokers without this listener are invisible to its clients
    MetadataResponse::MetadataResponseBroker b;
    b.node_id = id;
    b.host = endpoint->host;
    b.port = endpoint->port;
    b.rack = broker.rack;
    response.brokers.push_back(std::move(b));
  }
  response.cluster_id = image->cluster_id;
  response.controller_id = image->client_visible_controller_id();
  if (ctx.api_version >= 8 && ctx.api_version <= 10 && request.include_cluster_authorized_operations)
    response.cluster_authorized_operations = kClusterOperations;

  // v0: an empty list means every topic; v1+: null means every topic.
  bool all_topics = !request.topics.has_value() || (ctx.api_version == 0 && request.topics->empty());
  if (!all_topics) {
    for (const auto& t : *request.topics) {
      // No topics exist yet: each requested one is unknown. (Auto-creation
      // arrives with the partition logs.)
      MetadataResponse::MetadataResponseTopic topic;
      topic.name = t.name;
      topic.topic_id = t.topic_id;
      topic.error_code = protocol::code(t.name ? ErrorCode::UNKNOWN_TOPIC_OR_PARTITION : ErrorCode::UNKNOWN_TOPIC_ID);
      response.topics.push_back(std::move(topic));
    }
  }
  responder.send(response);
}

}  // namespace samsa::broker
