// net::KafkaClient: one I/O thread polls an eventfd (new requests, close)
// and one non-blocking socket per destination. See kafka_client_conn.h for
// the per-connection state machine.
#include "samsa/net/kafka_client.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <thread>

#include "kafka_client_conn.h"
#include "samsa/protocol/gen/api_keys.h"
#include "samsa/protocol/gen/request_header.h"

namespace samsa::net {

using kafka_client::Clock;
using kafka_client::Conn;
using kafka_client::Request;

struct KafkaClient::Impl {
  explicit Impl(KafkaClientOptions o) : options(std::move(o)) {
    wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd < 0) throw std::runtime_error("KafkaClient: eventfd failed");
    thread = std::thread([this] { run(); });
  }
  ~Impl() {
    if (wake_fd >= 0) ::close(wake_fd);
  }

  const KafkaClientOptions options;
  int wake_fd = -1;
  std::thread thread;

  // Shared with callers; guarded by `mu`.
  std::mutex mu;
  bool closing = false;
  std::vector<Request> submitted;
  int32_t next_correlation_id = 0;

  // Owned by the I/O thread.
  std::vector<std::unique_ptr<Conn>> conns;

  void wake() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd, &one, sizeof one);
  }

  void submit(const Endpoint& to, int16_t api_key, int16_t api_version, std::vector<uint8_t> body,
              OnResponse on_response) {
    Request req;
    req.api_key = api_key;
    req.api_version = api_version;
    req.on_response = std::move(on_response);
    req.deadline = Clock::now() + std::chrono::milliseconds(options.request_timeout_ms);
    {
      std::unique_lock lock(mu);
      if (closing) {
        lock.unlock();
        // No I/O thread to run it on any more: the caller's thread will do.
        req.on_response(std::nullopt);
        return;
      }
      req.correlation_id = next_correlation_id;
      next_correlation_id = next_correlation_id == INT32_MAX ? 0 : next_correlation_id + 1;
      req.frame = frame_of(req, body);
      req.to = to;
      submitted.push_back(std::move(req));
    }
    wake();
  }

  std::vector<uint8_t> frame_of(const Request& req, const std::vector<uint8_t>& body) const {
    protocol::WireWriter w;
    protocol::RequestHeader header;
    header.request_api_key = req.api_key;
    header.request_api_version = req.api_version;
    header.correlation_id = req.correlation_id;
    header.client_id = options.client_id;
    header.encode(w, protocol::request_header_version(req.api_key, req.api_version));
    const size_t size = w.size() + body.size();
    std::vector<uint8_t> frame(4 + size);
    const auto n = static_cast<uint32_t>(size);
    frame[0] = static_cast<uint8_t>(n >> 24);
    frame[1] = static_cast<uint8_t>(n >> 16);
    frame[2] = static_cast<uint8_t>(n >> 8);
    frame[3] = static_cast<uint8_t>(n);
    std::memcpy(frame.data() + 4, w.data(), w.size());
    if (!body.empty()) std::memcpy(frame.data() + 4 + w.size(), body.data(), body.size());
    return frame;
  }

  Conn& conn_for(const Endpoint& to) {
    for (auto& c : conns)
      if (c->endpoint() == to) return *c;
    conns.push_back(std::make_unique<Conn>(to, options));
    return *conns.back();
  }

  void run() {
    std::vector<pollfd> fds;
    std::vector<Conn*> polled;
    for (;;) {
      std::vector<Request> fresh;
      bool stop;
      {
        std::lock_guard lock(mu);
        fresh.swap(submitted);
        stop = closing;
      }
      if (stop) {
        for (auto& r : fresh) r.on_response(std::nullopt);
        break;
      }
      auto now = Clock::now();
      for (auto& r : fresh) {
        Conn& c = conn_for(r.to);
        c.enqueue(std::move(r), now);
      }
      Clock::time_point next_wake = now + std::chrono::seconds(1);
      fds.clear();
      polled.clear();
      fds.push_back(pollfd{wake_fd, POLLIN, 0});
      for (auto& c : conns) {
        c->tick(now);
        next_wake = std::min(next_wake, c->next_deadline());
        if (short events = c->poll_events()) {
          fds.push_back(pollfd{c->fd(), events, 0});
          polled.push_back(c.get());
        }
      }
      auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(next_wake - Clock::now()).count();
      int timeout = static_cast<int>(std::clamp<int64_t>(wait_ms + 1, 0, 1000));
      int n = ::poll(fds.data(), fds.size(), timeout);
      if (n < 0 && errno != EINTR) break;
      if (n > 0 && (fds[0].revents & POLLIN)) {
        uint64_t v;
        [[maybe_unused]] ssize_t r = ::read(wake_fd, &v, sizeof v);
      }
      now = Clock::now();
      for (size_t i = 0; n > 0 && i < polled.size(); ++i)
        if (fds[i + 1].revents) polled[i]->on_ready(fds[i + 1].revents, now);
    }
    for (auto& c : conns) c->fail_all();
    conns.clear();
  }

  void close() {
    {
      std::lock_guard lock(mu);
      closing = true;
    }
    wake();
    // From a callback (the I/O thread itself) the loop ends once it returns;
    // the destructor joins.
    if (std::this_thread::get_id() == thread.get_id()) return;
    std::lock_guard lock(join_mu);
    if (thread.joinable()) thread.join();
  }
  std::mutex join_mu;
};

KafkaClient::KafkaClient(KafkaClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

KafkaClient::~KafkaClient() { close(); }

void KafkaClient::send(const Endpoint& to, int16_t api_key, int16_t api_version, std::vector<uint8_t> body,
                       OnResponse on_response) {
  impl_->submit(to, api_key, api_version, std::move(body), std::move(on_response));
}

void KafkaClient::close() { impl_->close(); }

}  // namespace samsa::net
