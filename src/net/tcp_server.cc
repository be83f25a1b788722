#include "samsa/net/tcp_server.h"

#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "connection.h"
#include "samsa/net/io_context_pool.h"
#include "samsa/util/logging.h"

namespace samsa::net {

using boost::asio::ip::tcp;

struct TcpServer::Impl {
  struct Listener {
    ListenerConfig config;
    std::unique_ptr<tcp::acceptor> acceptor;
  };

  IoContextPool& pool;
  ConnectionOptions options;
  std::vector<std::unique_ptr<Listener>> listeners;
  std::shared_ptr<spdlog::logger> log = samsa::logger("samsa.network.SocketServer");

  mutable std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> connections;
  uint64_t next_id = 1;
  bool accepting = false;

  Impl(IoContextPool& p, ConnectionOptions o) : pool(p), options(o) {}

  void accept_next(Listener& l) {
    auto& ioc = pool.next();
    l.acceptor->async_accept(ioc, [this, &l, &ioc](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec == boost::asio::error::operation_aborted) return;
      if (!ec) on_accepted(l, ioc, std::move(socket));
      else log->warn("Accept failed on {}: {}", l.config.name, ec.message());
      std::lock_guard lock(mu);
      if (accepting) accept_next(l);
    });
  }

  void on_accepted(Listener& l, boost::asio::io_context& ioc, tcp::socket socket) {
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (ec) return;  // the peer is already gone
    ConnectionInfo info;
    info.peer = fmt::format("{}:{}", remote.address().to_string(), remote.port());
    info.listener_name = l.config.name;
    std::shared_ptr<Connection> conn;
    {
      std::lock_guard lock(mu);
      info.id = next_id++;
      conn = std::make_shared<Connection>(ioc, std::move(socket), *l.config.handler, info, options,
                                          [this](uint64_t id) { on_closed(id); });
      connections.emplace(info.id, conn);
    }
    // The socket belongs to another reactor: start it there.
    boost::asio::post(conn->executor(), [conn] { conn->start(); });
  }

  void on_closed(uint64_t id) {
    std::lock_guard lock(mu);
    connections.erase(id);
    cv.notify_all();
  }
};

TcpServer::TcpServer(IoContextPool& pool, ConnectionOptions options)
    : impl_(std::make_unique<Impl>(pool, options)) {}

TcpServer::~TcpServer() { stop_accepting(); }

uint16_t TcpServer::listen(const ListenerConfig& config) {
  auto l = std::make_unique<Impl::Listener>();
  l->config = config;
  auto& ioc = impl_->pool.at(0);
  try {
    tcp::endpoint endpoint;
    if (config.host.empty()) {
      endpoint = tcp::endpoint(tcp::v4(), config.port);
    } else {
      tcp::resolver resolver(ioc);
      auto results = resolver.resolve(config.host, std::to_string(config.port),
                                      tcp::resolver::passive | tcp::resolver::numeric_service);
      if (results.empty()) throw std::runtime_error("host does not resolve");
      endpoint = results.begin()->endpoint();
    }
    l->acceptor = std::make_unique<tcp::acceptor>(ioc);
    l->acceptor->open(endpoint.protocol());
    l->acceptor->set_option(tcp::acceptor::reuse_address(true));
    l->acceptor->bind(endpoint);
    l->acceptor->listen(boost::asio::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("Cannot listen on {} ({}:{}): {}", config.name,
                                         config.host.empty() ? "0.0.0.0" : config.host, config.port, e.what()));
  }
  uint16_t port = l->acceptor->local_endpoint().port();
  impl_->listeners.push_back(std::move(l));
  return port;
}

void TcpServer::start_accepting() {
  std::lock_guard lock(impl_->mu);
  impl_->accepting = true;
  for (auto& l : impl_->listeners) {
    Impl::Listener* listener = l.get();
    boost::asio::post(listener->acceptor->get_executor(), [this, listener] {
      std::lock_guard lock(impl_->mu);
      if (impl_->accepting) impl_->accept_next(*listener);
    });
  }
}

void TcpServer::stop_accepting() {
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->accepting) return;
    impl_->accepting = false;
  }
  for (auto& l : impl_->listeners) {
    Impl::Listener* listener = l.get();
    // Acceptors live on reactor 0; close them there.
    boost::asio::post(listener->acceptor->get_executor(), [listener] {
      boost::system::error_code ignored;
      listener->acceptor->close(ignored);
    });
  }
}

size_t TcpServer::drain(std::chrono::milliseconds grace) {
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(impl_->mu);
    for (auto& [id, weak] : impl_->connections)
      if (auto c = weak.lock()) live.push_back(std::move(c));
  }
  for (auto& c : live) c->shutdown();
  live.clear();
  std::unique_lock lock(impl_->mu);
  impl_->cv.wait_for(lock, grace, [this] { return impl_->connections.empty(); });
  return impl_->connections.size();
}

size_t TcpServer::connection_count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connections.size();
}

}  // namespace samsa::net
