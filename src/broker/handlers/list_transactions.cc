// ListTransactions (key 66, KIP-664; v1 adds KIP-994's duration filter):
// the transactional ids this broker coordinates, filtered by state names,
// producer ids and how long their transaction has been running.
#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/txn/transaction_coordinator.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/list_transactions_request.h"
#include "samsa/protocol/gen/list_transactions_response.h"

namespace samsa::broker {

using protocol::ErrorCode;

void handle_list_transactions(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<protocol::ListTransactionsRequest>(body, ctx.api_version);
  protocol::ListTransactionsResponse response;
  if (!ctx.services->transactions) {
    response.error_code = protocol::code(ErrorCode::COORDINATOR_NOT_AVAILABLE);
    return responder.send(response);
  }
  auto listed = ctx.services->transactions->list(request.state_filters, request.producer_id_filters,
                                                 ctx.api_version >= 1 ? request.duration_filter : -1);
  response.error_code = protocol::code(listed.error);
  response.unknown_state_filters = std::move(listed.unknown_state_filters);
  for (auto& t : listed.transactions) {
    auto& s = response.transaction_states.emplace_back();
    s.transactional_id = std::move(t.transactional_id);
    s.producer_id = t.producer_id;
    s.transaction_state = std::move(t.state);
  }
  responder.send(response);
}

}  // namespace samsa::broker
