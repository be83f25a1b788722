#pragma once
// A running Samsa node: the network reactors, the listeners and the services
// behind them. start() opens the controller listeners, starts the metadata
// quorum, waits until this node's metadata caught up, then binds and opens
// the broker listeners (a busy port fails start-up); stop() stops accepting,
// lets connections finish what they have in flight, then stops the reactors.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <string>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"
#include "samsa/util/serial_executor.h"

namespace samsa::net {
class IoContextPool;
class TcpServer;
class ConnectionLimits;
class KafkaClient;
class RequestBudget;
enum class FileTransferMode;
}  // namespace samsa::net

namespace samsa::raft {
class RaftManager;
}  // namespace samsa::raft

namespace samsa::broker {

class DynamicBrokerConfig;
class Reconfigurable;
class RequestDispatcher;
class ReplicaManager;
class QuorumController;
class KafkaControllerChannel;
class BrokerLifecycleManager;
class BrokerLifecycleService;
class LeadershipController;
class ProducerIdManager;
class Scheduler;
namespace replica {
class ReplicationQuotas;
}
namespace metadata {
class MetadataLoader;
}
namespace group {
class GroupCoordinator;
}
namespace txn {
class TransactionMarkerChannel;
class TxnVerificationManager;
class TransactionCoordinator;
class TxnLogStore;
}  // namespace txn
namespace replica {
class AlterPartitionManager;
class ReplicaFetcherManager;
}

class Broker {
 public:
  Broker(BrokerConfig config, std::string cluster_id, int16_t metadata_version);
  ~Broker();

  void start();
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // Called once, on the thread that saw the failure, when the node must stop
  // because its storage failed (every log dir offline, or the metadata log's
  // dir): Kafka halts then. The handler must not block; it arranges for
  // stop() to be called (the server wakes its main thread). Set before start().
  void set_fatal_handler(std::function<void(const std::string&)> handler) { fatal_handler_ = std::move(handler); }
  bool failed() const { return failed_.load(); }
  // The finalized features other than metadata.version in bootstrap.checkpoint
  // (StorageState::features): what the first active controller writes into an
  // empty metadata log. Set before start().
  void set_bootstrap_features(std::map<std::string, int16_t> features) { bootstrap_features_ = std::move(features); }
  // Bound port of each listener by name (useful when a port was 0).
  const std::map<std::string, uint16_t>& bound_ports() const { return bound_ports_; }
  // Where running components register as Reconfigurable for the dynamic
  // broker configs they apply (dynamic_broker_config.h).
  DynamicBrokerConfig& dynamic_config() { return *dynamic_config_; }
  // The running limits for dynamic configs to update: max.connections,
  // max.connections.per.ip(.overrides), connections.max.idle.ms through
  // ConnectionLimits' setters, queued.max.request.bytes through
  // RequestBudget::set_limit(). REQUIRES: start() has run. Thread-safe.
  net::ConnectionLimits& connection_limits();
  net::RequestBudget& request_budget();

 private:
  net::FileTransferMode file_transfer_mode() const;
  void apply_connection_configs();
  MetadataImage initial_image(const std::string& cluster_id) const;
  void start_partitions();
  void create_metadata();
  void open_listeners();
  void listen(bool controller);
  void start_metadata();
  void start_controller_channel();
  // The controller role answers BrokerRegistration/BrokerHeartbeat and
  // fences brokers whose session expired.
  void start_lifecycle_service();
  // The broker role registers with the active controller over the network
  // (also on a combined node) and waits until it is unfenced.
  void register_broker();
  // Asks the active controller to move this broker's leaderships away
  // before the node goes down (bounded).
  void controlled_shutdown(std::chrono::milliseconds timeout);
  void schedule_log_maintenance();
  void start_group_coordinator();
  void start_txn_channels();
  void start_transaction_coordinator();
  void fatal_storage_failure(const std::string& reason);

  // How long start-up waits for a quorum leader and for the loader to catch
  // up with the committed metadata before giving up.
  static constexpr std::chrono::seconds kMetadataCatchUpTimeout{60};
  // How long stop() waits for the controller to grant a controlled shutdown.
  static constexpr std::chrono::milliseconds kControlledShutdownTimeout{5000};

  BrokerConfig config_;
  std::string cluster_id_;
  int16_t bootstrap_metadata_version_;
  std::map<std::string, int16_t> bootstrap_features_;
  BrokerServices services_;
  std::unique_ptr<DynamicBrokerConfig> dynamic_config_;
  std::shared_ptr<Reconfigurable> cleaner_reconfigurable_;  // dynamic log.cleaner.* keys
  std::shared_ptr<Reconfigurable> connection_reconfigurable_;  // dynamic max.connections* keys
  // Before scheduler_: the session checks it runs are gone before it is.
  std::unique_ptr<BrokerLifecycleService> lifecycle_service_;  // controller role only
  std::unique_ptr<LeadershipController> leadership_;  // controller role only
  std::unique_ptr<replica::ReplicationQuotas> replication_quotas_;  // broker role only
  std::shared_ptr<Reconfigurable> quota_reconfigurable_;
  std::unique_ptr<Scheduler> scheduler_;
  // ISR changes to the controller; outlives replicas_ (whose partitions
  // submit to it) and the controller channel (whose answers come back to it).
  std::unique_ptr<replica::AlterPartitionManager> alter_partition_;
  std::unique_ptr<ReplicaManager> replicas_;
  // After replicas_: its threads append to the partitions, so they stop first.
  std::unique_ptr<replica::ReplicaFetcherManager> fetchers_;
  std::unique_ptr<metadata::MetadataLoader> loader_;
  std::unique_ptr<raft::RaftManager> raft_;  // after loader_: stops calling it before it goes
  std::unique_ptr<QuorumController> controller_;
  std::unique_ptr<KafkaControllerChannel> controller_channel_;  // broker role only
  std::unique_ptr<net::KafkaClient> controller_client_;  // after the channel: closed and gone first
  // After the channel and the scheduler: stopped and gone before them.
  std::unique_ptr<BrokerLifecycleManager> lifecycle_;  // broker role only
  std::unique_ptr<ProducerIdManager> producer_ids_;
  std::unique_ptr<group::GroupCoordinator> groups_;
  // The transaction coordinator and its way to __transaction_state (broker role only).
  std::unique_ptr<txn::TxnLogStore> txn_log_;
  std::unique_ptr<txn::TransactionCoordinator> transactions_;
  // Blocking admin work (controller_thread.h); after the network is
  // stopped it finishes what it holds.
  std::unique_ptr<util::SerialExecutor> controller_thread_;
  std::mutex controller_thread_mu_;  // the metadata listener posts to controller_thread_ under it
  std::unique_ptr<net::IoContextPool> pool_;
  std::unique_ptr<RequestDispatcher> broker_dispatcher_;
  std::unique_ptr<RequestDispatcher> controller_dispatcher_;
  std::unique_ptr<net::TcpServer> server_;  // broker listeners; declared after pool_: destroyed first
  std::unique_ptr<net::TcpServer> controller_server_;  // controller listeners, open before the quorum starts
  // Transactions over the network (broker role only): markers to partition
  // leaders and KIP-890 verification with coordinators. Declared last, so
  // gone first: what they call back (coordinators, produce answers) is
  // still alive when they end their pending work.
  std::unique_ptr<txn::TransactionMarkerChannel> txn_markers_;
  std::unique_ptr<txn::TxnVerificationManager> txn_verifier_;
  std::map<std::string, uint16_t> bound_ports_;
  bool running_ = false;
  std::function<void(const std::string&)> fatal_handler_;
  std::atomic<bool> failed_{false};
};

}  // namespace samsa::broker
