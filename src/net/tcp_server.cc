#include "samsa/net/tcp_server.h"

#include <pthread.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "connection.h"
#include "memory_return.h"
#include "samsa/net/io_context_pool.h"
#include "samsa/net/peer_log_limiter.h"
#include "samsa/util/logging.h"

namespace samsa::net {

using boost::asio::ip::tcp;

namespace {

// Closed connections leave their memory in malloc's free lists (and in the
// arenas of the reactor threads); after this many closes the sweeper asks
// malloc to give free pages back to the system.
constexpr uint64_t kTrimAfterCloses = 256;
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

}  // namespace

// Acceptors run on a thread of their own, as Kafka's Acceptor does. Besides
// keeping accepts off the reactors, this keeps the per-descriptor state that
// Asio allocates at accept (and keeps pooled forever) out of the reactors'
// malloc arenas: interleaved with connection memory, it would pin every page
// and nothing could be given back after a mass close.
struct TcpServer::Impl {
  struct Listener {
    ListenerConfig config;
    std::unique_ptr<tcp::acceptor> acceptor;
    std::unique_ptr<boost::asio::steady_timer> retry;  // after a failed accept (e.g. out of descriptors)
    bool accept_pending = false;
    bool blocked = false;  // at max.connections: waiting for a close
    bool listening = false;  // listen() is called by start_accepting()
  };
  struct Live {
    std::weak_ptr<Connection> conn;
    std::string address_key;  // quota group and address
    int group = 0;
  };

  IoContextPool& pool;
  ConnectionOptions options;
  boost::asio::io_context accept_ioc{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> accept_guard;
  std::thread accept_thread;
  std::shared_ptr<RequestBudget> budget = std::make_shared<RequestBudget>();
  ConnectionLimits limits;
  std::vector<std::unique_ptr<Listener>> listeners;
  std::shared_ptr<spdlog::logger> log = samsa::logger("samsa.network.SocketServer");
  std::unique_ptr<boost::asio::steady_timer> sweeper;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<uint64_t, Live> connections;
  std::unordered_map<std::string, int32_t> per_address;
  std::unordered_map<int, size_t> counted;  // by quota group, toward max.connections
  uint64_t next_id = 1;
  uint64_t closes_since_trim = 0;
  bool accepting = false;

  Impl(IoContextPool& p, ConnectionOptions o) : pool(p), options(o) {}

  // REQUIRES: mu held; runs on the accept thread.
  void accept_next(Listener& l) {
    if (!accepting || l.accept_pending) return;
    if (!l.config.exempt_from_max_connections && at_max(l.config.quota_group)) {
      // As Kafka: stop accepting; further clients wait in the listen backlog.
      if (!l.blocked) log->info("Listener {} reached max.connections ({}); accepting resumes when one closes",
                                l.config.name, limits.max_connections());
      l.blocked = true;
      return;
    }
    l.blocked = false;
    l.accept_pending = true;
    auto& ioc = pool.next();
    l.acceptor->async_accept(ioc, [this, &l, &ioc](const boost::system::error_code& ec, tcp::socket socket) {
      std::unique_lock lock(mu);
      l.accept_pending = false;
      if (ec == boost::asio::error::operation_aborted || !accepting) return;
      if (ec) {
        lock.unlock();
        bad_input_log().log(log, spdlog::level::warn, "accept",
                            fmt::format("Accept failed on {}: {}", l.config.name, ec.message()));
        l.retry->expires_after(kAcceptRetry);
        l.retry->async_wait([this, &l](const boost::system::error_code& e) {
          if (e) return;
          std::lock_guard relock(mu);
          accept_next(l);
        });
        return;
      }
      on_accepted(l, ioc, std::move(socket));
      accept_next(l);
    });
  }

  // REQUIRES: mu held.
  void on_accepted(Listener& l, boost::asio::io_context& ioc, tcp::socket socket) {
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (ec) return;  // the peer is already gone
    std::string address = remote.address().to_string();
    int32_t limit = limits.limit_for(address);
    std::string key = fmt::format("{}/{}", l.config.quota_group, address);
    int32_t& count = per_address[key];
    if (count >= limit) {
      if (count == 0) per_address.erase(key);
      bad_input_log().log(log, spdlog::level::info, address,
                          fmt::format("Rejected connection from {} on {}, address already has the configured "
                                      "maximum of {} connections",
                                      address, l.config.name, limit));
      socket.close(ec);
      return;
    }
    ++count;
    ++counted[l.config.quota_group];
    ConnectionInfo info;
    info.peer = fmt::format("{}:{}", address, remote.port());
    info.listener_name = l.config.name;
    info.id = next_id++;
    connections.emplace(info.id, Live{{}, std::move(key), l.config.quota_group});
    // The connection is built on its own reactor, so that its memory comes
    // from that reactor's arena (see above).
    boost::asio::post(ioc, [this, &ioc, &l, info = std::move(info), socket = std::move(socket)]() mutable {
      uint64_t id = info.id;
      auto conn = std::make_shared<Connection>(ioc, std::move(socket), *l.config.handler, std::move(info), options,
                                               budget, [this](uint64_t closed) { on_closed(closed); });
      {
        std::lock_guard lock(mu);
        auto it = connections.find(id);
        if (it == connections.end()) return;
        if (!accepting) {  // stopped meanwhile: drain() did not see this one
          forget(it);
          return;  // the socket closes with `conn`
        }
        it->second.conn = conn;
      }
      conn->start();
    });
  }

  void on_closed(uint64_t id) {
    std::lock_guard lock(mu);
    auto it = connections.find(id);
    if (it == connections.end()) return;
    forget(it);
  }

  // REQUIRES: mu held.
  void forget(std::unordered_map<uint64_t, Live>::iterator it) {
    if (auto a = per_address.find(it->second.address_key); a != per_address.end() && --a->second <= 0)
      per_address.erase(a);
    --counted[it->second.group];
    connections.erase(it);
    ++closes_since_trim;
    resume_blocked();
    cv.notify_all();
  }

  // REQUIRES: mu held.
  bool at_max(int group) const {
    auto it = counted.find(group);
    return it != counted.end() && it->second >= static_cast<size_t>(limits.max_connections());
  }

  // REQUIRES: mu held. Lets acceptors waiting at max.connections go on when
  // there is room (after a close, or a raised limit).
  void resume_blocked() {
    if (!accepting) return;
    for (auto& lp : listeners) {
      Listener* l = lp.get();
      if (!l->blocked || at_max(l->config.quota_group)) continue;
      l->blocked = false;
      boost::asio::post(l->acceptor->get_executor(), [this, l] {
        std::lock_guard lock(mu);
        accept_next(*l);
      });
    }
  }

  std::chrono::milliseconds sweep_interval() const {
    int64_t idle = limits.connections_max_idle_ms();
    if (idle <= 0) return std::chrono::seconds(1);
    return std::chrono::milliseconds(std::clamp<int64_t>(idle / 4, 50, 1000));
  }

  // Periodic housekeeping on the accept thread: idle timeouts, raised limits, log
  // flood summaries, giving memory back after mass closes.
  void sweep() {
    std::vector<std::shared_ptr<Connection>> idle;
    int64_t idle_ms = limits.connections_max_idle_ms();
    int64_t cutoff = Connection::now_ms() - idle_ms;
    bool trim = false;
    {
      std::lock_guard lock(mu);
      if (!accepting) return;
      if (idle_ms > 0) {
        for (auto& [id, live] : connections) {
          auto c = live.conn.lock();
          if (c && c->last_active_ms() < cutoff) idle.push_back(std::move(c));
        }
      }
      resume_blocked();
      if (closes_since_trim >= kTrimAfterCloses) {
        closes_since_trim = 0;
        trim = true;
      }
    }
    for (auto& c : idle) c->close_if_idle(cutoff);
    bad_input_log().flush();
    if (trim) {
      log->debug("Giving the memory of closed connections back to the system");
      give_memory_back(pool);
    }
    sweeper->expires_after(sweep_interval());
    sweeper->async_wait([this](const boost::system::error_code& ec) {
      if (!ec) sweep();
    });
  }
};

TcpServer::TcpServer(IoContextPool& pool, ConnectionOptions options)
    : impl_(std::make_unique<Impl>(pool, options)) {
  configure_malloc_for_server();
}

TcpServer::~TcpServer() {
  stop_accepting();
  // Frames still held elsewhere keep the budget alive; their release must
  // not wake connections whose reactors are about to go.
  impl_->budget->drop_waiters();
}

ConnectionLimits& TcpServer::limits() { return impl_->limits; }
RequestBudget& TcpServer::request_budget() { return *impl_->budget; }

uint16_t TcpServer::listen(const ListenerConfig& config) {
  auto l = std::make_unique<Impl::Listener>();
  l->config = config;
  auto& ioc = impl_->accept_ioc;
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
    // Bound now (a taken port fails start-up here), listening only from
    // start_accepting(): until then a connect is refused rather than left in
    // the backlog, so nobody mistakes a starting node for a ready one.
    l->acceptor->bind(endpoint);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("Cannot listen on {} ({}:{}): {}", config.name,
                                         config.host.empty() ? "0.0.0.0" : config.host, config.port, e.what()));
  }
  l->retry = std::make_unique<boost::asio::steady_timer>(impl_->accept_ioc);
  uint16_t port = l->acceptor->local_endpoint().port();
  impl_->listeners.push_back(std::move(l));
  return port;
}

void TcpServer::start_accepting() {
  std::lock_guard lock(impl_->mu);
  impl_->accepting = true;
  for (auto& l : impl_->listeners) {
    Impl::Listener* listener = l.get();
    if (!listener->listening) {
      boost::system::error_code ec;
      listener->acceptor->listen(boost::asio::socket_base::max_listen_connections, ec);
      if (ec)
        throw std::runtime_error(fmt::format("Cannot listen on {} (port {}): {}", listener->config.name,
                                             listener->config.port, ec.message()));
      listener->listening = true;
    }
    boost::asio::post(listener->acceptor->get_executor(), [this, listener] {
      std::lock_guard lock(impl_->mu);
      impl_->accept_next(*listener);
    });
  }
  if (!impl_->sweeper) impl_->sweeper = std::make_unique<boost::asio::steady_timer>(impl_->accept_ioc);
  boost::asio::post(impl_->accept_ioc, [this] { impl_->sweep(); });
  if (!impl_->accept_thread.joinable()) {
    impl_->accept_ioc.restart();
    impl_->accept_guard.emplace(impl_->accept_ioc.get_executor());
    impl_->accept_thread = std::thread([this] {
      pthread_setname_np(pthread_self(), "samsa-accept");
      impl_->accept_ioc.run();
    });
  }
}

void TcpServer::stop_accepting() {
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->accepting) return;
    impl_->accepting = false;
  }
  // Close the acceptors and stop the sweeper on their thread, then let it end.
  boost::asio::post(impl_->accept_ioc, [this] {
    for (auto& l : impl_->listeners) {
      boost::system::error_code ignored;
      l->acceptor->close(ignored);
      l->retry->cancel();
    }
    if (impl_->sweeper) impl_->sweeper->cancel();
  });
  impl_->accept_guard.reset();
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
}

size_t TcpServer::drain(std::chrono::milliseconds grace) {
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(impl_->mu);
    for (auto& [id, entry] : impl_->connections)
      if (auto c = entry.conn.lock()) live.push_back(std::move(c));
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
