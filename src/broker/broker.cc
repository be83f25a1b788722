#include "samsa/broker/broker.h"

#include <algorithm>
#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "samsa/broker/broker_lifecycle_manager.h"
#include "samsa/broker/broker_lifecycle_options.h"
#include "samsa/broker/broker_lifecycle_service.h"
#include "samsa/broker/leadership_controller.h"
#include "samsa/broker/replica/replication_quota.h"
#include "samsa/broker/connection_reconfigurable.h"
#include "samsa/broker/dynamic_broker_config.h"
#include "samsa/broker/features.h"
#include "samsa/broker/group/group_coordinator.h"
#include "samsa/broker/txn/transaction_coordinator.h"
#include "samsa/broker/txn/txn_log_store.h"
#include "samsa/broker/txn/txn_marker_written.h"
#include "samsa/broker/kafka_controller_channel.h"
#include "samsa/broker/log_cleaner_reconfigurable.h"
#include "samsa/broker/meta_properties.h"
#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata/metadata_loader.h"
#include "samsa/broker/replica/alter_partition_manager.h"
#include "samsa/broker/replica/replica_fetcher_config.h"
#include "samsa/broker/replica/replica_fetcher_manager.h"
#include "samsa/broker/replica/replica_manager.h"
#include "samsa/broker/producer_id_manager.h"
#include "samsa/broker/quorum_controller.h"
#include "samsa/broker/request_dispatcher.h"
#include "samsa/broker/scheduler.h"
#include "samsa/broker/txn/txn_marker_channel.h"
#include "samsa/broker/txn/txn_verification_manager.h"
#include "samsa/log/file_cache.h"
#include "samsa/broker/raft_options.h"
#include "samsa/raft/server/raft_manager.h"
#include "samsa/net/io_context_pool.h"
#include "samsa/net/tcp_server.h"
#include "samsa/util/logging.h"

namespace samsa::broker {

namespace {

// Controller work (commits, partition creation) runs niced: when the CPU is
// short, the network threads answer first and admin requests take longer.
constexpr int kBackgroundNice = 10;

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.server.BrokerServer");
  return l;
}

bool is_controller_listener(const BrokerConfig& config, const std::string& name) {
  const auto& names = config.controller_listener_names;
  return std::find(names.begin(), names.end(), name) != names.end();
}

size_t broker_listener_count(const BrokerConfig& config) {
  return static_cast<size_t>(std::count_if(config.listeners.begin(), config.listeners.end(), [&](const Listener& l) {
    return !is_controller_listener(config, l.name);
  }));
}
}  // namespace

Broker::Broker(BrokerConfig config, std::string cluster_id, int16_t metadata_version)
    : config_(std::move(config)), cluster_id_(std::move(cluster_id)), bootstrap_metadata_version_(metadata_version) {
  services_.node_id = config_.node_id;
  services_.config = &config_;
  dynamic_config_ = std::make_unique<DynamicBrokerConfig>(config_, config_.node_id);
  services_.dynamic_config = dynamic_config_.get();
}

Broker::~Broker() {
  stop(std::chrono::seconds(1));
  // A start-up that failed half-way: no timer (session checks, heartbeats)
  // runs into members being destroyed, and the quorum lets go of the requests it
  // holds before the network they came from is destroyed.
  if (scheduler_) scheduler_->stop();
  if (lifecycle_) lifecycle_->stop();
  if (raft_) raft_->stop();
  if (controller_channel_) controller_channel_->close();
}

MetadataImage Broker::initial_image(const std::string& cluster_id) const {
  // What the metadata log does not hold: the cluster id (meta.properties)
  // and the static voter set.
  MetadataImage image;
  image.cluster_id = cluster_id;
  std::string controller_listener =
      config_.controller_listener_names.empty() ? "CONTROLLER" : config_.controller_listener_names.front();
  for (const auto& v : config_.controller_quorum_voters)
    image.controllers.emplace(v.id, BrokerEndpoint{controller_listener, v.host, v.port, "PLAINTEXT"});
  if (config_.controller_quorum_voters.size() == 1 && config_.controller_quorum_voters[0].id == config_.node_id)
    image.quorum_leader_id = config_.node_id;
  return image;
}

// The metadata quorum (a voter on a controller, an observer on a
// broker-only node), this node's loader and its controller role.
void Broker::create_metadata() {
  raft::RaftManagerOptions options = raft_manager_options(config_, cluster_id_);
  options.on_io_error = [this](const std::string& why) {
    fatal_storage_failure(fmt::format("the metadata log dir {} has failed ({})", config_.metadata_log_dir, why));
  };
  raft_ = std::make_unique<raft::RaftManager>(options);
  // A controller's listener serves the Raft RPCs; a broker-only node (an
  // observer) relays DescribeQuorum to the leader through it too.
  services_.raft = raft_.get();

  metadata::MetadataLoaderOptions loader_options;
  loader_options.node_id = config_.node_id;
  loader_options.max_bytes_between_snapshots = config_.metadata_max_bytes_between_snapshots;
  loader_ = std::make_unique<metadata::MetadataLoader>(
      services_.metadata, std::make_shared<const MetadataImage>(initial_image(cluster_id_)), loader_options);
  loader_->set_snapshot_target(raft_.get());

  QuorumControllerOptions controller_options;
  controller_options.bootstrap_metadata_version = bootstrap_metadata_version_;
  controller_options.bootstrap_features = bootstrap_features_;
  controller_ = std::make_unique<QuorumController>(*raft_, *loader_, services_.metadata,
                                                   metadata::controller_defaults(config_), controller_options);
  services_.controller = controller_.get();
  producer_ids_ = std::make_unique<ProducerIdManager>(*controller_, config_.node_id);
  services_.producer_ids = producer_ids_.get();
  // A new active controller of an empty log writes the bootstrap records
  // (off the listener thread, which the commit waits for).
  loader_->set_on_activation([this](raft::Epoch) {
    std::lock_guard lock(controller_thread_mu_);  // stop() takes the thread away under it
    QuorumController* controller = controller_.get();
    if (controller_thread_) controller_thread_->post([controller] { controller->ensure_bootstrapped(); });
  });
  raft_->register_listener(loader_.get());
  if (config_.is_broker()) start_controller_channel();
}

// The broker role reaches the active controller (forwarded admin requests,
// producer id blocks) at the endpoint of the Raft leader's controller
// listener: the quorum's voter endpoints, else the image's controllers.
void Broker::start_controller_channel() {
  net::KafkaClientOptions options;
  options.client_id = fmt::format("broker-{}-to-controller", config_.node_id);
  controller_client_ = std::make_unique<net::KafkaClient>(options);
  raft::RaftManager* raft = raft_.get();
  controller_channel_ = std::make_unique<KafkaControllerChannel>(
      *controller_client_, [raft] { return raft->leader(); },
      [this, raft](raft::NodeId id) -> std::optional<net::Endpoint> {
        // Static voters, else (KIP-853) the voter set in force or the
        // leader's endpoint as its Fetch answers named it.
        auto voters = raft->voter_endpoints();
        if (auto it = voters.find(id); it != voters.end()) return it->second;
        if (raft->leader().leader_id == id)
          if (auto endpoint = raft->leader_endpoint()) return endpoint;
        auto image = services_.metadata.current();
        if (auto it = image->controllers.find(id); it != image->controllers.end())
          return net::Endpoint{it->second.host, it->second.port};
        return std::nullopt;
      });
  services_.controller_channel = controller_channel_.get();
  producer_ids_->set_controller_channel(controller_channel_.get(), &services_.metadata);
}

// Starts the quorum and waits (bounded) until the loader has applied
// everything committed before start-up, as a Kafka broker waits for
// metadata catch-up before it serves clients. The controller listener is
// open already: the quorum needs it to elect a leader.
void Broker::start_metadata() {
  raft_->start();

  using Clock = metadata::MetadataLoader::Clock;
  const auto deadline = Clock::now() + kMetadataCatchUpTimeout;
  // The high watermark is known (above 0) once a leader has committed in
  // the current epoch: every log has its LeaderChange then. A leader from
  // quorum-state of an earlier run is not enough.
  for (;;) {
    const raft::Offset high_watermark = raft_->high_watermark();
    if (high_watermark > 0 && loader_->applied_offset() >= high_watermark - 1) break;
    if (Clock::now() >= deadline)
      throw std::runtime_error(fmt::format(
          "the metadata log was not caught up within {} s (high watermark {}, applied up to {})",
          kMetadataCatchUpTimeout.count(), high_watermark, loader_->applied_offset()));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // The leader of a new log writes the bootstrap records before this node
  // registers; announcing the leadership may trail the catch-up slightly.
  while (raft_->leader().leader_id == config_.node_id) {
    auto bootstrapped = controller_->ensure_bootstrapped();
    auto* error = std::get_if<ControllerError>(&bootstrapped);
    if (!error) break;
    if (*error != ControllerError::kNotController || Clock::now() >= deadline)
      throw std::runtime_error("writing the bootstrap metadata failed: " + to_api_error(*error).message);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto image = services_.metadata.current();
  log()->info("Caught up with the metadata log at offset {} ({} topics)", loader_->applied_offset(),
              image->topics->by_name.size());
  // From here on every new image reaches the running components, in order.
  loader_->install_publisher([this](const std::shared_ptr<const MetadataImage>& img) {
    dynamic_config_->on_image(*img);
    if (replicas_) replicas_->apply(*img);
  });
}

// The controller role's side of KIP-631. Session checks run on the
// controller thread (each fencing is a commit); once stop() has taken that
// thread away they are dropped.
void Broker::start_lifecycle_service() {
  lifecycle_service_ = make_broker_lifecycle_service(config_, *controller_, *loader_);
  services_.broker_lifecycle = lifecycle_service_.get();
  lifecycle_service_->schedule_session_checks(*scheduler_, [this](std::function<void()> job) {
    std::lock_guard lock(controller_thread_mu_);
    if (controller_thread_) controller_thread_->post(std::move(job));
  });
  // Leader balancing and reassignment completion, on the same thread.
  leadership_ = std::make_unique<LeadershipController>(
      *controller_, LeadershipController::options_from(config_), [this](std::function<void()> job) {
        std::lock_guard lock(controller_thread_mu_);
        if (controller_thread_) controller_thread_->post(std::move(job));
      });
  LeadershipController* leadership = leadership_.get();
  loader_->install_publisher([leadership](const std::shared_ptr<const MetadataImage>& img) {
    leadership->on_image(img);
  });
  leadership_->schedule(*scheduler_);
}

// The broker role registers with the active controller through the
// controller channel (on a combined node too, as Kafka's broker does), then
// heartbeats; clients are let in only once the controller has unfenced it,
// which it does when this node's image has caught up with the registration.
void Broker::register_broker() {
  lifecycle_ =
      make_broker_lifecycle_manager(config_, cluster_id_, *controller_channel_, *scheduler_, services_.metadata);
  lifecycle_->start();
  // initial.broker.registration.timeout.ms, as Kafka's BrokerServer.
  const std::chrono::milliseconds timeout(config_.initial_broker_registration_timeout_ms);
  if (!lifecycle_->wait_until_unfenced(timeout))
    throw std::runtime_error(fmt::format(
        "the broker was not registered and unfenced by the active controller within {} ms "
        "(initial.broker.registration.timeout.ms; state {}, last error {})",
        timeout.count(), to_string(lifecycle_->state()),
        static_cast<int>(lifecycle_->last_error())));
  log()->info("Registered with the active controller as broker epoch {}; unfenced", lifecycle_->broker_epoch());
}

void Broker::controlled_shutdown(std::chrono::milliseconds timeout) {
  if (!lifecycle_) return;
  if (lifecycle_->fenced()) {
    lifecycle_->stop();
    return;
  }
  if (lifecycle_->controlled_shutdown(timeout))
    log()->info("The controller granted the controlled shutdown");
  else
    log()->warn("No controlled shutdown within {} ms; shutting down anyway", timeout.count());
}

void Broker::schedule_log_maintenance() {
  auto* partitions = replicas_.get();
  scheduler_->schedule_periodic(std::chrono::milliseconds(config_.log_retention_check_interval_ms),
                                [partitions] { partitions->logs().retention_check(); });
  // flush_check applies flush.ms per log and flushes rolled segments, so it
  // runs at least every second whatever log.flush.scheduler.interval.ms says
  // (its default, Long.MAX, means "no timed flush", not "never check").
  auto flush_period = std::clamp<int64_t>(config_.log_flush_scheduler_interval_ms, 10, 1000);
  scheduler_->schedule_periodic(std::chrono::milliseconds(flush_period),
                                [partitions] { partitions->logs().flush_check(); });
  // log.flush.offset.checkpoint.interval.ms (Kafka's default 60 s).
  scheduler_->schedule_periodic(std::chrono::seconds(60), [partitions] { partitions->logs().checkpoint(); });
  scheduler_->schedule_periodic(std::chrono::milliseconds(config_.producer_id_expiration_check_interval_ms),
                                [partitions] { partitions->logs().remove_expired_producers(); });
  partitions->schedule_periodic_tasks(*scheduler_);
}

// The coordinator loads the __consumer_offsets partitions this node leads
// before the listeners open, so clients never see a half-loaded group.
void Broker::start_group_coordinator() {
  group::CoordinatorConfig gc;
  gc.offsets_partitions = config_.offsets_topic_num_partitions;
  gc.initial_rebalance_delay_ms = config_.group_initial_rebalance_delay_ms;
  gc.min_session_timeout_ms = config_.group_min_session_timeout_ms;
  gc.max_session_timeout_ms = config_.group_max_session_timeout_ms;
  gc.max_size = config_.group_max_size;
  gc.offsets_retention_ms = int64_t{config_.offsets_retention_minutes} * 60 * 1000;
  gc.retention_check_interval_ms = config_.offsets_retention_check_interval_ms;
  gc.offset_metadata_max_bytes = config_.offset_metadata_max_bytes;
  gc.commit_timeout_ms = config_.offsets_commit_timeout_ms;
  groups_ = std::make_unique<group::GroupCoordinator>(services_, gc);
  group::GroupCoordinator* groups = groups_.get();
  loader_->install_publisher([groups](const std::shared_ptr<const MetadataImage>& img) { groups->on_image(*img); });
  services_.groups = groups;
  // WriteTxnMarkers reports markers on __consumer_offsets partitions: the
  // transactional offset commits of their producers take effect or vanish.
  services_.on_txn_marker_written = [groups](const txn::TxnMarkerWritten& m) { groups->on_txn_marker_written(m); };
  groups_->await_loads();  // the partitions led at startup, loaded on the loader thread
  groups_->start();
}

// The transaction coordinator's markers (WriteTxnMarkers to partition
// leaders) and the produce path's KIP-890 verification (AddPartitionsToTxn
// verify_only to coordinators) both reach other brokers on the
// inter-broker listener, each over its own client.
void Broker::start_txn_channels() {
  auto image = [this] { return services_.metadata.current(); };
  txn::TxnMarkerChannelOptions markers;
  markers.listener = config_.inter_broker_listener_name;
  markers.client_id = fmt::format("broker-{}-txn-marker-sender", config_.node_id);
  // Longer than the leader's own wait for its ISR (request.timeout.ms), so
  // its answer, not our timeout, ends a slow marker.
  markers.request_timeout_ms = int64_t{config_.request_timeout_ms} + 10'000;
  txn_markers_ = std::make_unique<txn::TransactionMarkerChannel>(image, markers);
  services_.txn_markers = txn_markers_.get();
  txn::TxnVerificationOptions verification;
  verification.listener = config_.inter_broker_listener_name;
  verification.client_id = fmt::format("broker-{}-add-partitions-to-txn", config_.node_id);
  verification.request_timeout_ms = config_.request_timeout_ms;
  txn_verifier_ = std::make_unique<txn::TxnVerificationManager>(image, verification);
  services_.txn_verifier = txn_verifier_.get();
}

// Like the group coordinator: the __transaction_state partitions led here
// are loaded before the listeners open. Markers go out through
// services_.txn_markers (read at each use: wired by whoever creates it).
void Broker::start_transaction_coordinator() {
  txn::TxnCoordinatorConfig tc;
  tc.node_id = config_.node_id;
  tc.num_partitions = config_.transaction_state_log_num_partitions;
  tc.offsets_partitions = config_.offsets_topic_num_partitions;
  tc.max_timeout_ms = config_.transaction_max_timeout_ms;
  tc.abort_timed_out_interval_ms = config_.transaction_abort_timed_out_transaction_cleanup_interval_ms;
  tc.id_expiration_ms = config_.transactional_id_expiration_ms;
  tc.remove_expired_interval_ms = config_.transaction_remove_expired_transaction_cleanup_interval_ms;
  // Kafka's coordinator waits request.timeout.ms (30 s default) for its writes.
  txn_log_ = std::make_unique<txn::ReplicatedTxnLogStore>(services_, 30'000,
                                                          config_.transaction_state_log_load_buffer_size);
  txn::TxnCoordinatorDeps deps;
  deps.store = txn_log_.get();
  deps.markers = [this] { return services_.txn_markers; };
  deps.new_producer_id = [this]() -> std::pair<protocol::ErrorCode, int64_t> {
    auto generated = producer_ids_->generate();
    if (!generated.error.ok()) return {generated.error.code, -1};
    return {protocol::ErrorCode::NONE, generated.producer_id};
  };
  deps.now_ms = [] {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  };
  Scheduler* scheduler = scheduler_.get();
  deps.schedule = [scheduler](int64_t delay_ms, std::function<void()> fn) {
    scheduler->schedule(std::chrono::milliseconds(delay_ms), std::move(fn));
  };
  transactions_ = std::make_unique<txn::TransactionCoordinator>(tc, std::move(deps));
  txn::TransactionCoordinator* transactions = transactions_.get();
  loader_->install_publisher(
      [transactions](const std::shared_ptr<const MetadataImage>& img) { transactions->on_image(*img); });
  services_.transactions = transactions;
  transactions_->await_loads();
  scheduler_->schedule_periodic(std::chrono::milliseconds(tc.abort_timed_out_interval_ms),
                                [transactions] { transactions->abort_timed_out_transactions(); });
  scheduler_->schedule_periodic(std::chrono::milliseconds(tc.remove_expired_interval_ms),
                                [transactions] { transactions->remove_expired_ids(); });
}

net::FileTransferMode Broker::file_transfer_mode() const {
  switch (config_.fetch_transfer) {
    case FetchTransfer::Sendfile:
      return net::FileTransferMode::kSendfile;
    case FetchTransfer::IoUring:  // each reactor falls back to pread if io_uring cannot be set up
      return net::FileTransferMode::kIoUring;
    case FetchTransfer::Pread:
      return net::FileTransferMode::kPread;
    case FetchTransfer::Auto:  // cached ranges by sendfile, cold ones read on the pool (bench/README.md)
      break;
  }
  return net::FileTransferMode::kAuto;
}

void Broker::apply_connection_configs() {
  net::ConnectionLimits& limits = server_->limits();
  limits.set_max_connections(config_.max_connections);
  limits.set_max_connections_per_ip(config_.max_connections_per_ip);
  std::string error;
  if (!limits.set_max_connections_per_ip_overrides(config_.max_connections_per_ip_overrides, &error))
    throw std::runtime_error("max.connections.per.ip.overrides: " + error);  // validated with the config
  limits.set_connections_max_idle_ms(config_.connections_max_idle_ms);
  server_->request_budget().set_limit(config_.queued_max_request_bytes);
}

net::ConnectionLimits& Broker::connection_limits() { return server_->limits(); }
net::RequestBudget& Broker::request_budget() { return server_->request_budget(); }

void Broker::start() {
  // Segment files are opened on demand through a bounded cache sized from the
  // descriptor limit, so 100,000 partitions fit under a few thousand fds.
  const uint64_t fd_limit = log::FileCache::raise_fd_limit();
  log::FileCache::instance().set_capacity(log::FileCache::default_capacity());
  log()->info("Open file limit {}; keeping at most {} segment files and index mappings open", fd_limit,
              log::FileCache::instance().capacity());
  scheduler_ = std::make_unique<Scheduler>();
  services_.scheduler = scheduler_.get();
  // A controller-only node keeps nothing but the metadata log: no
  // partitions, groups or log maintenance.
  if (config_.is_broker()) start_partitions();
  if (config_.is_broker()) start_txn_channels();  // before any coordinator loads
  controller_thread_ = std::make_unique<util::SerialExecutor>("controller-evt", kBackgroundNice);
  services_.controller_thread = controller_thread_.get();
  create_metadata();
  if (config_.is_controller()) start_lifecycle_service();
  open_listeners();
  start_metadata();
  if (config_.is_broker()) {
    register_broker();
    start_group_coordinator();
    start_transaction_coordinator();
    schedule_log_maintenance();
  }
  // Clients come in once this node's metadata has caught up and the
  // controller unfenced its broker: the broker listeners bind only now, so
  // an open port means a ready broker.
  listen(/*controller=*/false);
  server_->start_accepting();
  running_ = true;
  log()->info("[{}Server id={}] Transition from STARTING to STARTED", config_.is_broker() ? "Broker" : "Controller",
              config_.node_id);
}

void Broker::start_partitions() {
  replicas_ = std::make_unique<ReplicaManager>(
      config_, config_.node_id, [this](const std::string& dir, const std::string& why, bool all_offline) {
        namespace fs = std::filesystem;
        if (all_offline)
          fatal_storage_failure(
              fmt::format("all log dirs in {} have failed ({})", fmt::join(config_.log_dirs, ", "), why));
        else if (fs::path(dir).lexically_normal() == fs::path(config_.metadata_log_dir).lexically_normal())
          fatal_storage_failure(fmt::format("the metadata log dir {} has failed ({})", dir, why));
      });
  // Replication throttles: the leader side is in the follower fetch path
  // (handlers/fetch.cc), the follower side in the fetchers' options
  // (follower_allowance_fn / follower_record_fn).
  replication_quotas_ = std::make_unique<replica::ReplicationQuotas>(config_.node_id);
  services_.replication_quotas = replication_quotas_.get();
  ReplicaManagerWiring wiring;
  wiring.on_progress = [waiters = &fetch_waiters(&services_)](const std::string& topic, int32_t partition) {
    waiters->notify(topic, partition);
  };
  wiring.waiters = &fetch_waiters(&services_);
  wiring.scheduler = scheduler_.get();
  // ISR changes go to the active controller (AlterPartition) through the
  // controller channel, which create_metadata() opens before any image is
  // applied; the broker epoch is this broker's registration in the image.
  replica::AlterPartitionManager::Options alter;
  alter.broker_id = config_.node_id;
  alter.broker_epoch = [this] {
    auto image = services_.metadata.current();
    auto it = image->brokers.find(config_.node_id);
    return it == image->brokers.end() ? int64_t{-1} : it->second.epoch;
  };
  alter.schedule = [scheduler = scheduler_.get()](std::chrono::milliseconds delay, std::function<void()> fn) {
    scheduler->schedule(delay, std::move(fn));
  };
  alter_partition_ = std::make_unique<replica::AlterPartitionManager>(
      [this]() -> ControllerChannel* { return controller_channel_.get(); }, std::move(alter));
  wiring.alter_partition = alter_partition_.get();
  auto fetcher_options = replica::replica_fetcher_options(
      config_, config_.node_id, [this] { return services_.metadata.current(); },
      [this](const std::string& topic, int32_t partition) { return replicas_->get(topic, partition); });
  // follower.replication.throttled.rate for the replicas the topics list.
  fetcher_options.throttle_allowance = replication_quotas_->follower_allowance_fn(services_.metadata);
  fetcher_options.throttle_record = replication_quotas_->follower_record_fn(services_.metadata);
  fetchers_ = std::make_unique<replica::ReplicaFetcherManager>(std::move(fetcher_options));
  wiring.add_followers = [f = fetchers_.get()](const std::vector<replica::FollowTarget>& targets) {
    f->add_partitions(targets);
  };
  wiring.remove_followers = [f = fetchers_.get()](const std::vector<std::pair<std::string, int32_t>>& partitions) {
    f->remove_partitions(partitions);
  };
  replicas_->wire(std::move(wiring));
  replicas_->startup();
  services_.replicas = replicas_.get();
  cleaner_reconfigurable_ = make_log_cleaner_reconfigurable(replicas_->logs(), config_);
  dynamic_config_->add_reconfigurable(cleaner_reconfigurable_);
  quota_reconfigurable_ = replication_quotas_->reconfigurable();
  dynamic_config_->add_reconfigurable(quota_reconfigurable_);
}

// The network threads and both servers; the controller listeners bind and
// accept at once (the quorum needs them), the broker listeners later.
void Broker::open_listeners() {
  size_t threads = static_cast<size_t>(std::max(1, config_.num_network_threads));
  pool_ = std::make_unique<net::IoContextPool>(threads);
  net::ConnectionOptions options;
  options.max_frame_bytes = static_cast<size_t>(config_.socket_request_max_bytes);
  options.send_buffer_bytes = config_.socket_send_buffer_bytes;
  options.receive_buffer_bytes = config_.socket_receive_buffer_bytes;
  options.file_transfer = file_transfer_mode();
  server_ = std::make_unique<net::TcpServer>(*pool_, options);
  controller_server_ = std::make_unique<net::TcpServer>(*pool_, options);
  apply_connection_configs();
  connection_reconfigurable_ = make_connection_limits_reconfigurable(server_->limits());
  dynamic_config_->add_reconfigurable(connection_reconfigurable_);
  broker_dispatcher_ = std::make_unique<RequestDispatcher>(services_, ListenerKind::kBroker);
  controller_dispatcher_ = std::make_unique<RequestDispatcher>(services_, ListenerKind::kController);
  listen(/*controller=*/true);
  pool_->start();
  controller_server_->start_accepting();
}

// Binds the controller or the broker listeners (a taken port fails here).
void Broker::listen(bool controller) {
  for (const auto& l : config_.listeners) {
    if (is_controller_listener(config_, l.name) != controller) continue;
    if (controller ? !config_.is_controller() : !config_.is_broker()) continue;
    net::ListenerConfig lc;
    lc.name = l.name;
    lc.host = l.host;
    lc.port = l.port;
    lc.handler = controller ? controller_dispatcher_.get() : broker_dispatcher_.get();
    // As Kafka: the controller's connections are counted apart from the
    // broker's, and the inter-broker listener is protected from the
    // broker-wide limit when other broker listeners exist.
    lc.quota_group = controller ? 1 : 0;
    lc.exempt_from_max_connections =
        !controller && l.name == config_.inter_broker_listener_name && broker_listener_count(config_) > 1;
    if (l.security_protocol != "PLAINTEXT")
      throw std::runtime_error(fmt::format("Listener {} uses {}; this build serves PLAINTEXT listeners only", l.name,
                                           l.security_protocol));
    bound_ports_[l.name] = (controller ? controller_server_ : server_)->listen(lc);
    log()->info("Listening on {}://{}:{} ({} listener)", l.name, l.host, bound_ports_[l.name],
                controller ? "controller" : "broker");
  }
}

void Broker::fatal_storage_failure(const std::string& reason) {
  if (failed_.exchange(true)) return;
  log()->error("Shutdown broker because {}", reason);
  if (fatal_handler_) fatal_handler_(reason);
}

void Broker::stop(std::chrono::milliseconds grace) {
  if (!running_) return;
  running_ = false;
  log()->info("[BrokerServer id={}] Transition from STARTED to SHUTTING_DOWN", config_.node_id);
  // While everything still runs (this node may be the active controller
  // that grants it): leaderships move away before the clients go.
  controlled_shutdown(std::min(grace, kControlledShutdownTimeout));
  server_->stop_accepting();
  controller_server_->stop_accepting();
  dynamic_config_->remove_reconfigurable(connection_reconfigurable_.get());
  size_t left = server_->drain(grace) + controller_server_->drain(std::chrono::milliseconds(100));
  if (left > 0) log()->warn("{} connections still open after {} ms; closing them", left, grace.count());
  pool_->stop();
  // Markers and verifications still in flight end now (kAbandoned /
  // NOT_ENOUGH_REPLICAS), while what they call back is alive.
  if (txn_markers_) txn_markers_->close();
  if (txn_verifier_) txn_verifier_->close();
  // The network is quiet: finish the admin work handed over (its replies go
  // nowhere now) before the logs and the metadata log close.
  std::unique_ptr<util::SerialExecutor> controller_thread;
  {
    std::lock_guard lock(controller_thread_mu_);
    controller_thread = std::move(controller_thread_);
  }
  controller_thread.reset();
  services_.controller_thread = nullptr;
  if (lifecycle_) lifecycle_->stop();
  if (controller_channel_) {  // forwarded requests still waiting are answered (to nobody) now
    controller_channel_->close();
    controller_client_->close();
  }
  scheduler_->stop();
  if (!failed_) loader_->snapshot_now();  // nothing more is written to a failed disk
  try {
    // Before the connections go: the quorum answers the Raft requests it
    // still holds (a follower's parked Fetch) through them.
    raft_->stop();
  } catch (const std::exception& e) {
    // Reported through on_io_error; the next start recovers the log.
    log()->error("Closing the metadata log failed: {}", e.what());
  }
  // No follower appends to a closing log, and none while the network
  // threads' contexts go: an append wakes parked consumer fetches, whose
  // replies and timers are posted to those contexts.
  if (fetchers_) fetchers_->shutdown();
  server_.reset();
  controller_server_.reset();
  pool_.reset();
  if (replicas_) {
    dynamic_config_->remove_reconfigurable(cleaner_reconfigurable_.get());
    dynamic_config_->remove_reconfigurable(quota_reconfigurable_.get());
    replicas_->shutdown();
  }
  log()->info("[BrokerServer id={}] shut down completed", config_.node_id);
}

}  // namespace samsa::broker
