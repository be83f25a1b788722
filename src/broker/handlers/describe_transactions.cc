// DescribeTransactions (key 65, KIP-664): the state of transactional ids
// this broker coordinates (NOT_COORDINATOR for the others, as Kafka).
#include <map>

#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/txn/transaction_coordinator.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/describe_transactions_request.h"
#include "samsa/protocol/gen/describe_transactions_response.h"

namespace samsa::broker {

using protocol::DescribeTransactionsResponse;
using protocol::ErrorCode;

void handle_describe_transactions(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<protocol::DescribeTransactionsRequest>(body, ctx.api_version);
  DescribeTransactionsResponse response;
  for (const auto& id : request.transactional_ids) {
    auto& s = response.transaction_states.emplace_back();
    s.transactional_id = id;
    if (!ctx.services->transactions) {
      s.error_code = protocol::code(ErrorCode::COORDINATOR_NOT_AVAILABLE);
      continue;
    }
    const txn::TxnDescription d = ctx.services->transactions->describe(id);
    s.error_code = protocol::code(d.error);
    if (d.error != ErrorCode::NONE) continue;
    s.transaction_state = d.state;
    s.transaction_timeout_ms = d.timeout_ms;
    s.transaction_start_time_ms = d.start_time_ms;
    s.producer_id = d.producer_id;
    s.producer_epoch = d.producer_epoch;
    std::map<std::string, std::vector<int32_t>> by_topic;
    for (const auto& [topic, p] : d.partitions) by_topic[topic].push_back(p);
    for (auto& [topic, ps] : by_topic) {
      auto& t = s.topics.emplace_back();
      t.topic = topic;
      t.partitions = std::move(ps);
    }
  }
  responder.send(response);
}

}  // namespace samsa::broker
