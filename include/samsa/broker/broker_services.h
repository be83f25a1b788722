#pragma once
// The shared state request handlers use. Each member is safe to use from
// any network thread on its own terms (the metadata cache is lock-free).
#include <cstdint>
#include <functional>
#include <memory>

#include "samsa/broker/fetch/fetch_session.h"
#include "samsa/broker/fetch/fetch_waiters.h"
#include "samsa/broker/metadata_image.h"

namespace samsa::broker {

struct BrokerConfig;
class BrokerLifecycleService;
class ControllerChannel;
class ControllerService;
class DynamicBrokerConfig;
class ReplicaManager;
class ProducerIdManager;
class Scheduler;
namespace group {
class GroupCoordinator;
}
namespace replica {
class ReplicationQuotas;
}
namespace txn {
class TransactionCoordinator;
class TxnMarkerSender;
class TxnVerifier;
struct TxnMarkerWritten;
}  // namespace txn
}  // namespace samsa::broker
namespace samsa::util {
class SerialExecutor;
}
namespace samsa::raft {
class RaftManager;
}
namespace samsa::broker {

struct BrokerServices {
  int32_t node_id = -1;
  MetadataCache metadata;
  const BrokerConfig* config = nullptr;
  // Which dynamic broker keys reach the running broker (AlterConfigs asks).
  DynamicBrokerConfig* dynamic_config = nullptr;
  ControllerService* controller = nullptr;  // this node's controller role
  // BrokerRegistration / BrokerHeartbeat on the controller role; null: not a controller.
  BrokerLifecycleService* broker_lifecycle = nullptr;
  // The broker role's way to the active controller (forwarded admin
  // requests, producer id blocks); null: only the local controller.
  ControllerChannel* controller_channel = nullptr;
  // The __cluster_metadata quorum on a controller (null on a broker-only
  // node): the controller listener's Vote, BeginQuorumEpoch,
  // EndQuorumEpoch, Fetch and DescribeQuorum reach it.
  raft::RaftManager* raft = nullptr;
  ReplicaManager* replicas = nullptr;
  Scheduler* scheduler = nullptr;  // timers (fetch long-poll, periodic checks)
  ProducerIdManager* producer_ids = nullptr;  // InitProducerId
  group::GroupCoordinator* groups = nullptr;  // consumer groups and committed offsets
  // Transactions (issue 12): the coordinator of the transactional ids whose
  // __transaction_state partition this broker leads; the marker writer it
  // uses; the KIP-890 verification the produce path uses. Null: none.
  txn::TransactionCoordinator* transactions = nullptr;
  txn::TxnMarkerSender* txn_markers = nullptr;
  txn::TxnVerifier* txn_verifier = nullptr;
  // A COMMIT/ABORT marker was written on a partition led here
  // (txn_marker_written.h); the group coordinator listens. Empty: nobody.
  std::function<void(const txn::TxnMarkerWritten&)> on_txn_marker_written;
  // leader/follower.replication.throttled.rate (replication_quota.h); null: unthrottled.
  replica::ReplicationQuotas* replication_quotas = nullptr;
  // Where blocking admin work runs (controller_thread.h); null: inline.
  util::SerialExecutor* controller_thread = nullptr;
  // Fetches parked until data arrives, and KIP-227 fetch sessions.
  std::unique_ptr<FetchWaiters> fetch_waiters = std::make_unique<FetchWaiters>();
  std::unique_ptr<FetchSessionCache> fetch_sessions = std::make_unique<FetchSessionCache>();
};

}  // namespace samsa::broker
