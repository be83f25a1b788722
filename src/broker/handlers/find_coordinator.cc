// FindCoordinator (key 10): which broker coordinates a group. Batched keys
// from v4. The group coordinator lives with the leader of the group's
// __consumer_offsets partition; the topic is created on first use, as Kafka
// does. Transaction coordinators do not exist yet (COORDINATOR_NOT_AVAILABLE).
#include "samsa/broker/broker_services.h"
#include "samsa/broker/group/group_handlers_support.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/find_coordinator_request.h"
#include "samsa/protocol/gen/find_coordinator_response.h"

namespace samsa::broker {

using protocol::ErrorCode;
using protocol::FindCoordinatorRequest;
using protocol::FindCoordinatorResponse;

namespace {

constexpr int8_t kGroupKey = 0;
constexpr int8_t kTransactionKey = 1;

FindCoordinatorResponse::Coordinator lookup(const RequestContext& ctx, const std::string& key, int8_t key_type) {
  FindCoordinatorResponse::Coordinator c;
  c.key = key;
  auto fail = [&](ErrorCode e) {
    c.error_code = protocol::code(e);
    c.error_message = std::string(protocol::error_name(e));
    c.node_id = -1;
    c.host = "";
    c.port = -1;
    return c;
  };
  if (key_type == kTransactionKey) return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
  if (key_type != kGroupKey) return fail(ErrorCode::INVALID_REQUEST);
  auto* groups = group::coordinator(ctx);
  if (!groups) return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
  if (auto e = groups->ensure_offsets_topic(); e != ErrorCode::NONE) return fail(e);

  auto image = ctx.services->metadata.current();
  const TopicImage* topic = image->topic(group::kOffsetsTopic);
  const PartitionImage* partition = topic ? topic->partition(groups->partition_for(key)) : nullptr;
  if (!partition || partition->leader < 0) return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
  auto broker = image->brokers.find(partition->leader);
  if (broker == image->brokers.end() || broker->second.fenced) return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
  const BrokerEndpoint* endpoint = broker->second.endpoint(ctx.connection->listener_name);
  if (!endpoint) return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
  c.node_id = partition->leader;
  c.host = endpoint->host;
  c.port = endpoint->port;
  c.error_message = std::nullopt;
  return c;
}

}  // namespace

void handle_find_coordinator(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<FindCoordinatorRequest>(body, ctx.api_version);
  FindCoordinatorResponse response;
  if (ctx.api_version >= 4) {
    for (const auto& key : request.coordinator_keys) response.coordinators.push_back(lookup(ctx, key, request.key_type));
  } else {
    auto c = lookup(ctx, request.key, request.key_type);
    response.error_code = c.error_code;
    response.error_message = c.error_message;
    response.node_id = c.node_id;
    response.host = c.host;
    response.port = c.port;
  }
  responder.send(response);
}

}  // namespace samsa::broker
