// InitProducerId (key 22) for idempotent producers, as Kafka's
// TransactionCoordinator.handleInitProducerId answers a request without a
// transactional id: a producer id from the broker's block (producer_id_manager.h)
// with epoch 0. A transactional id goes to the transaction coordinator
// (txn/transaction_coordinator.h), which owns its producer id and epoch.
//
// v3+ (KIP-360) lets a producer pass its current id and epoch after an error
// to get a bumped epoch: the same id with epoch + 1 (a fresh id with epoch 0
// once the epoch is exhausted, or for an id this cluster never handed out).
// Kafka 4.0 hands idempotent producers a fresh id here instead; bumping keeps
// the id and fences batches of the old epoch still in flight, which the
// partitions then refuse with INVALID_PRODUCER_EPOCH.
#include <limits>

#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/producer_id_manager.h"
#include "samsa/broker/txn/transaction_coordinator.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/init_producer_id_request.h"
#include "samsa/protocol/gen/init_producer_id_response.h"

namespace samsa::broker {

using protocol::ErrorCode;
using protocol::InitProducerIdRequest;
using protocol::InitProducerIdResponse;

namespace {

constexpr int64_t kNoProducerId = -1;
constexpr int16_t kNoProducerEpoch = -1;
// Kafka bumps to at most Short.MAX_VALUE - 1 and then starts a new id.
constexpr int16_t kMaxBumpableEpoch = std::numeric_limits<int16_t>::max() - 2;

InitProducerIdResponse error_response(ErrorCode error) {
  InitProducerIdResponse r;
  r.error_code = protocol::code(error);
  r.producer_id = kNoProducerId;
  r.producer_epoch = kNoProducerEpoch;
  return r;
}

InitProducerIdResponse fresh_id(BrokerServices& services) {
  if (!services.producer_ids) return error_response(ErrorCode::COORDINATOR_NOT_AVAILABLE);
  auto generated = services.producer_ids->generate();
  if (!generated.error.ok()) return error_response(generated.error.code);
  InitProducerIdResponse r;
  r.producer_id = generated.producer_id;
  r.producer_epoch = 0;
  return r;
}

InitProducerIdResponse init_idempotent(BrokerServices& services, int64_t producer_id, int16_t producer_epoch) {
  if (producer_id == kNoProducerId) return fresh_id(services);
  // Ids at or above the next block's start were never handed out.
  const int64_t allocated_below = services.metadata.current()->next_producer_id;
  if (producer_id >= allocated_below || producer_epoch < 0 || producer_epoch > kMaxBumpableEpoch)
    return fresh_id(services);
  InitProducerIdResponse r;
  r.producer_id = producer_id;
  r.producer_epoch = static_cast<int16_t>(producer_epoch + 1);
  return r;
}

}  // namespace

void handle_init_producer_id(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<InitProducerIdRequest>(body, ctx.api_version);
  InitProducerIdResponse response;
  // KafkaApis: an id without an epoch (or the reverse) is malformed.
  const bool no_id = request.producer_id == kNoProducerId;
  const bool no_epoch = request.producer_epoch == kNoProducerEpoch;
  if (no_id != no_epoch) {
    response = error_response(ErrorCode::INVALID_REQUEST);
  } else if (!request.transactional_id) {
    response = init_idempotent(*ctx.services, request.producer_id, request.producer_epoch);
  } else if (request.transactional_id->empty()) {
    response = error_response(ErrorCode::INVALID_REQUEST);
  } else if (!ctx.services->transactions) {
    response = error_response(ErrorCode::COORDINATOR_NOT_AVAILABLE);
  } else {
    const int16_t version = ctx.api_version;
    return ctx.services->transactions->init_producer_id(
        *request.transactional_id, request.transaction_timeout_ms, request.producer_id, request.producer_epoch,
        [responder, version](txn::InitPidResult r) mutable {
          // PRODUCER_FENCED is v4+ (KIP-588); older clients know INVALID_PRODUCER_EPOCH.
          if (r.error == ErrorCode::PRODUCER_FENCED && version < 4) r.error = ErrorCode::INVALID_PRODUCER_EPOCH;
          InitProducerIdResponse out = error_response(r.error);
          if (r.error == ErrorCode::NONE) {
            out.producer_id = r.producer_id;
            out.producer_epoch = r.producer_epoch;
          }
          responder.send(out);
        });
  }
  responder.send(response);
}

}  // namespace samsa::broker
