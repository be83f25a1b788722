#include "samsa/broker/broker.h"

#include <algorithm>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "samsa/broker/request_dispatcher.h"
#include "samsa/net/io_context_pool.h"
#include "samsa/net/tcp_server.h"
#include "samsa/util/logging.h"

namespace samsa::broker {

namespace {
const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.server.BrokerServer");
  return l;
}

bool is_controller_listener(const BrokerConfig& config, const std::string& name) {
  const auto& names = config.controller_listener_names;
  return std::find(names.begin(), names.end(), name) != names.end();
}
}  // namespace

Broker::Broker(BrokerConfig config, std::string cluster_id, int16_t metadata_version) : config_(std::move(config)) {
  services_.node_id = config_.node_id;
  services_.metadata.publish(std::make_shared<const MetadataImage>(initial_image(cluster_id, metadata_version)));
}

Broker::~Broker() { stop(std::chrono::seconds(1)); }

MetadataImage Broker::initial_image(const std::string& cluster_id, int16_t metadata_version) const {
  // Until the metadata log replays registrations, this node registers itself
  // with its advertised broker listeners; the single voter leads the quorum.
  MetadataImage image;
  image.cluster_id = cluster_id;
  image.metadata_version = metadata_version;
  image.features_epoch = 0;
  if (config_.is_broker()) {
    BrokerRegistration self;
    self.id = config_.node_id;
    self.rack = config_.broker_rack;
    for (const auto& l : config_.advertised_listeners)
      self.endpoints.push_back(BrokerEndpoint{l.name, l.host, l.port, l.security_protocol});
    image.brokers.emplace(self.id, std::move(self));
  }
  std::string controller_listener =
      config_.controller_listener_names.empty() ? "CONTROLLER" : config_.controller_listener_names.front();
  for (const auto& v : config_.controller_quorum_voters)
    image.controllers.emplace(v.id, BrokerEndpoint{controller_listener, v.host, v.port, "PLAINTEXT"});
  if (config_.controller_quorum_voters.size() == 1 && config_.controller_quorum_voters[0].id == config_.node_id)
    image.quorum_leader_id = config_.node_id;
  return image;
}

net::FileTransferMode Broker::file_transfer_mode() const {
  switch (config_.fetch_transfer) {
    case FetchTransfer::Sendfile:
      return net::FileTransferMode::kSendfile;
    case FetchTransfer::IoUring:
      log()->warn("samsa.fetch.transfer=io_uring is not available in this build; using pread");
      return net::FileTransferMode::kPread;
    case FetchTransfer::Auto:  // pread+write measured faster than sendfile on loopback here (bench/README.md)
    case FetchTransfer::Pread:
      break;
  }
  return net::FileTransferMode::kPread;
}

void Broker::start() {
  size_t threads = static_cast<size_t>(std::max(1, config_.num_network_threads));
  pool_ = std::make_unique<net::IoContextPool>(threads);
  net::ConnectionOptions options;
  options.max_frame_bytes = static_cast<size_t>(config_.socket_request_max_bytes);
  options.send_buffer_bytes = config_.socket_send_buffer_bytes;
  options.receive_buffer_bytes = config_.socket_receive_buffer_bytes;
  options.file_transfer = file_transfer_mode();
  server_ = std::make_unique<net::TcpServer>(*pool_, options);
  broker_dispatcher_ = std::make_unique<RequestDispatcher>(services_, ListenerKind::kBroker);
  controller_dispatcher_ = std::make_unique<RequestDispatcher>(services_, ListenerKind::kController);

  for (const auto& l : config_.listeners) {
    bool controller = is_controller_listener(config_, l.name);
    if (controller ? !config_.is_controller() : !config_.is_broker()) continue;
    net::ListenerConfig lc;
    lc.name = l.name;
    lc.host = l.host;
    lc.port = l.port;
    lc.handler = controller ? controller_dispatcher_.get() : broker_dispatcher_.get();
    if (l.security_protocol != "PLAINTEXT")
      throw std::runtime_error(fmt::format("Listener {} uses {}; this build serves PLAINTEXT listeners only", l.name,
                                           l.security_protocol));
    bound_ports_[l.name] = server_->listen(lc);
    log()->info("Listening on {}://{}:{} ({} listener)", l.name, l.host, bound_ports_[l.name],
                controller ? "controller" : "broker");
  }
  pool_->start();
  server_->start_accepting();
  running_ = true;
  log()->info("[BrokerServer id={}] Transition from STARTING to STARTED", config_.node_id);
}

void Broker::stop(std::chrono::milliseconds grace) {
  if (!running_) return;
  running_ = false;
  log()->info("[BrokerServer id={}] Transition from STARTED to SHUTTING_DOWN", config_.node_id);
  server_->stop_accepting();
  size_t left = server_->drain(grace);
  if (left > 0) log()->warn("{} connections still open after {} ms; closing them", left, grace.count());
  pool_->stop();
  server_.reset();
  pool_.reset();
  log()->info("[BrokerServer id={}] shut down completed", config_.node_id);
}

}  // namespace samsa::broker
