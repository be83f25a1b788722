#pragma once
// A running Samsa node: the network reactors, the listeners and the services
// behind them. start() binds every listener (so a busy port fails fast);
// stop() stops accepting, lets connections finish what they have in flight,
// then stops the reactors.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"

namespace samsa::net {
class IoContextPool;
class TcpServer;
enum class FileTransferMode;
}  // namespace samsa::net

namespace samsa::broker {

class RequestDispatcher;

class Broker {
 public:
  Broker(BrokerConfig config, std::string cluster_id, int16_t metadata_version);
  ~Broker();

  void start();
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // Bound port of each listener by name (useful when a port was 0).
  const std::map<std::string, uint16_t>& bound_ports() const { return bound_ports_; }

 private:
  net::FileTransferMode file_transfer_mode() const;
  MetadataImage initial_image(const std::string& cluster_id, int16_t metadata_version) const;

  BrokerConfig config_;
  BrokerServices services_;
  std::unique_ptr<net::IoContextPool> pool_;
  std::unique_ptr<RequestDispatcher> broker_dispatcher_;
  std::unique_ptr<RequestDispatcher> controller_dispatcher_;
  std::unique_ptr<net::TcpServer> server_;  // declared after pool_: destroyed first
  std::map<std::string, uint16_t> bound_ports_;
  bool running_ = false;
};

}  // namespace samsa::broker
