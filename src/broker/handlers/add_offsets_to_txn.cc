// AddOffsetsToTxn (key 25): the producer will commit offsets of `group_id`
// in its transaction; the coordinator adds the group's __consumer_offsets
// partition to it, so the markers reach the offsets too.
#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/txn/transaction_coordinator.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/add_offsets_to_txn_request.h"
#include "samsa/protocol/gen/add_offsets_to_txn_response.h"

namespace samsa::broker {

using protocol::ErrorCode;

void handle_add_offsets_to_txn(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<protocol::AddOffsetsToTxnRequest>(body, ctx.api_version);
  const int16_t version = ctx.api_version;
  auto reply = [responder, version](ErrorCode e) mutable {
    // PRODUCER_FENCED is v2+ (KIP-588).
    if (e == ErrorCode::PRODUCER_FENCED && version < 2) e = ErrorCode::INVALID_PRODUCER_EPOCH;
    protocol::AddOffsetsToTxnResponse response;
    response.error_code = protocol::code(e);
    responder.send(response);
  };
  if (!ctx.services->transactions) return reply(ErrorCode::COORDINATOR_NOT_AVAILABLE);
  ctx.services->transactions->add_offsets(request.transactional_id, request.producer_id, request.producer_epoch,
                                          request.group_id, std::move(reply));
}

}  // namespace samsa::broker
