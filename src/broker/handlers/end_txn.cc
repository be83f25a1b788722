// EndTxn (key 26): commit or abort the producer's ongoing transaction.
// Answered once PrepareCommit / PrepareAbort is in __transaction_state; the
// markers follow (transaction_coordinator.h). v5 is transactions v2: the
// end bumps the epoch and the answer carries the producer id and epoch the
// client goes on with.
#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/txn/transaction_coordinator.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/end_txn_request.h"
#include "samsa/protocol/gen/end_txn_response.h"

namespace samsa::broker {

using protocol::ErrorCode;

void handle_end_txn(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<protocol::EndTxnRequest>(body, ctx.api_version);
  const int16_t version = ctx.api_version;
  auto reply = [responder, version](txn::EndTxnResult r) mutable {
    // PRODUCER_FENCED is v2+ (KIP-588).
    if (r.error == ErrorCode::PRODUCER_FENCED && version < 2) r.error = ErrorCode::INVALID_PRODUCER_EPOCH;
    protocol::EndTxnResponse response;
    response.error_code = protocol::code(r.error);
    response.producer_id = r.producer_id;
    response.producer_epoch = r.producer_epoch;
    responder.send(response);
  };
  if (!ctx.services->transactions)
    return reply({ErrorCode::COORDINATOR_NOT_AVAILABLE, txn::kNoProducerId, txn::kNoProducerEpoch});
  const int16_t client_txn_version = version >= 5 ? txn::kTxnVersion2 : 0;
  ctx.services->transactions->end_txn(request.transactional_id, request.producer_id, request.producer_epoch,
                                      request.committed, client_txn_version, std::move(reply));
}

}  // namespace samsa::broker
