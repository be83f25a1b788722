// FindCoordinator (key 10): which broker coordinates a group (key type 0)
// or a transactional id (key type 1). Batched keys from v4. The group
// coordinator lives with the leader of the group's __consumer_offsets
// partition, the transaction coordinator with the leader of the id's
// __transaction_state partition; each topic is created on first use, as
// Kafka does (on the controller thread: creating it may block).
#include "samsa/broker/broker_services.h"
#include "samsa/broker/controller_thread.h"
#include "samsa/broker/group/group_handlers_support.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/txn/transaction_coordinator.h"
#include "samsa/broker/txn/transaction_log.h"
#include "samsa/broker/txn/transaction_topic.h"
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
  if (key_type != kGroupKey && key_type != kTransactionKey) return fail(ErrorCode::INVALID_REQUEST);
  const char* topic_name = nullptr;
  int32_t index = -1;
  if (key_type == kGroupKey) {
    auto* groups = group::coordinator(ctx);
    if (!groups) return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
    if (auto e = groups->ensure_offsets_topic(); e != ErrorCode::NONE) return fail(e);
    topic_name = group::kOffsetsTopic;
    index = groups->partition_for(key);
  } else {
    auto* txns = ctx.services->transactions;
    if (!txns) return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
    // Kafka: an empty transactional id is INVALID_REQUEST.
    if (key.empty()) return fail(ErrorCode::INVALID_REQUEST);
    if (auto e = txn::ensure_transaction_state_topic(*ctx.services, txns->topic_request_in_flight);
        e != ErrorCode::NONE)
      return fail(e);
    topic_name = txn::kTransactionStateTopic;
    index = txns->partition_for(key);
  }

  auto image = ctx.services->metadata.current();
  const TopicImage* topic = image->topic(topic_name);
  const PartitionImage* partition = topic ? topic->partition(index) : nullptr;
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

void answer(const RequestContext& ctx, const FindCoordinatorRequest& request, Responder responder) {
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

}  // namespace

void handle_find_coordinator(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<FindCoordinatorRequest>(body, ctx.api_version);
  // The first transactional FindCoordinator creates __transaction_state,
  // which may block on a controller commit: not on a network thread.
  if (request.key_type == kTransactionKey && should_hand_over(ctx) &&
      !ctx.services->metadata.current()->topic(txn::kTransactionStateTopic)) {
    return run_on_controller_thread(ctx, std::move(responder),
                                    [request = std::move(request)](const RequestContext& c, Responder r) {
                                      answer(c, request, std::move(r));
                                    });
  }
  answer(ctx, request, std::move(responder));
}

}  // namespace samsa::broker
