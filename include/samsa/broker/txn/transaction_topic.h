#pragma once
// Creates __transaction_state on first use (FindCoordinator with key type
// TRANSACTION), as Kafka does: transaction.state.log.num.partitions
// partitions, replication factor transaction.state.log.replication.factor,
// min.insync.replicas = transaction.state.log.min.isr, compacted,
// segment.bytes = transaction.state.log.segment.bytes.
//
// Threading: blocks on a controller commit when this node is the active
// controller: call it on the controller thread (the dispatcher hands
// FindCoordinator over while the topic is missing).
#include <atomic>
#include <memory>

#include "samsa/protocol/error_code.h"

namespace samsa::broker {
struct BrokerServices;
}

namespace samsa::broker::txn {

// NONE once the topic exists; COORDINATOR_NOT_AVAILABLE while it is being
// created (the client retries). `in_flight` keeps one CreateTopics to a
// remote controller at a time.
protocol::ErrorCode ensure_transaction_state_topic(BrokerServices& services,
                                                   const std::shared_ptr<std::atomic<bool>>& in_flight);

}  // namespace samsa::broker::txn
