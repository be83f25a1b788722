#include "kafka_client_conn.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "samsa/net/tcp_connect.h"
#include "samsa/protocol/gen/api_keys.h"
#include "samsa/protocol/gen/response_header.h"
#include "samsa/protocol/wire_reader.h"

namespace samsa::net::kafka_client {

namespace {

constexpr size_t kReadChunk = 64 * 1024;

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void fail(Request& r) {
  auto cb = std::move(r.on_response);
  if (cb) cb(std::nullopt);
}

}  // namespace

Conn::Conn(Endpoint endpoint, const KafkaClientOptions& options)
    : endpoint_(std::move(endpoint)), options_(options), backoff_ms_(options.reconnect_backoff_ms) {}

Conn::~Conn() {
  if (fd_ >= 0) ::close(fd_);
}

void Conn::enqueue(Request request, Clock::time_point now) {
  if (queued_bytes_ + request.frame.size() > options_.max_queued_request_bytes) return fail(request);
  queued_bytes_ += request.frame.size();
  waiting_.push_back(std::move(request));
  if (state_ == State::kReady) flush_waiting();
  (void)now;
}

void Conn::flush_waiting() {
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
  while (!waiting_.empty()) {
    Request r = std::move(waiting_.front());
    waiting_.pop_front();
    out_.insert(out_.end(), r.frame.begin(), r.frame.end());
    r.frame = {};
    in_flight_.emplace(r.correlation_id, std::move(r));
  }
}

void Conn::tick(Clock::time_point now) {
  // A request still waiting for its connection times out alone.
  while (!waiting_.empty() && state_ != State::kReady && waiting_.front().deadline <= now) {
    queued_bytes_ -= waiting_.front().frame.size();
    Request r = std::move(waiting_.front());
    waiting_.pop_front();
    fail(r);
  }
  if (state_ == State::kReady) {
    // Responses come in order, so an unanswered request holds up the ones
    // behind it: as Kafka's NetworkClient, a timeout drops the connection.
    for (const auto& [id, r] : in_flight_) {
      if (r.deadline <= now) return disconnect(now, false);
    }
  } else if (state_ == State::kConnecting) {
    if (connect_deadline_ <= now) disconnect(now, true);
  } else if (!waiting_.empty() && backoff_until_ <= now) {
    start_connect(now);
  }
}

Clock::time_point Conn::next_deadline() const {
  auto next = Clock::time_point::max();
  if (!waiting_.empty()) next = std::min(next, waiting_.front().deadline);
  for (const auto& [id, r] : in_flight_) next = std::min(next, r.deadline);
  if (state_ == State::kConnecting) next = std::min(next, connect_deadline_);
  if (state_ == State::kIdle && !waiting_.empty()) next = std::min(next, backoff_until_);
  return next;
}

short Conn::poll_events() const {
  switch (state_) {
    case State::kIdle:
      return 0;
    case State::kConnecting:
      return POLLOUT;
    case State::kReady:
      return static_cast<short>(POLLIN | (out_pos_ < out_.size() ? POLLOUT : 0));
  }
  return 0;
}

void Conn::start_connect(Clock::time_point now) {
  bool in_progress = false;
  fd_ = net::start_tcp_connect(endpoint_, in_progress);
  if (fd_ < 0) return disconnect(now, true);
  state_ = State::kConnecting;
  connect_deadline_ = now + std::chrono::milliseconds(options_.connect_timeout_ms);
  if (!in_progress) on_connected();
}

void Conn::on_connected() {
  state_ = State::kReady;
  backoff_ms_ = options_.reconnect_backoff_ms;
  flush_waiting();
}

void Conn::disconnect(Clock::time_point now, bool connect_failed) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  state_ = State::kIdle;
  backoff_until_ = now + std::chrono::milliseconds(backoff_ms_);
  if (connect_failed) backoff_ms_ = std::min(backoff_ms_ * 2, options_.reconnect_backoff_max_ms);
  out_.clear();
  out_pos_ = 0;
  in_.clear();
  in_len_ = 0;
  auto in_flight = std::move(in_flight_);
  in_flight_.clear();
  std::deque<Request> waiting;
  if (connect_failed) waiting.swap(waiting_);
  queued_bytes_ = 0;
  for (const auto& r : waiting_) queued_bytes_ += r.frame.size();
  // Callbacks last: they may send() again (that only queues for the next loop).
  for (auto& [id, r] : in_flight) fail(r);
  for (auto& r : waiting) fail(r);
}

void Conn::fail_all() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  state_ = State::kIdle;
  auto in_flight = std::move(in_flight_);
  in_flight_.clear();
  auto waiting = std::move(waiting_);
  waiting_.clear();
  queued_bytes_ = 0;
  for (auto& [id, r] : in_flight) fail(r);
  for (auto& r : waiting) fail(r);
}

void Conn::on_ready(short revents, Clock::time_point now) {
  if (state_ == State::kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0 || (revents & (POLLERR | POLLHUP))) {
      return disconnect(now, true);
    }
    on_connected();
    if (!write_some()) disconnect(now, false);
    return;
  }
  if (state_ != State::kReady) return;
  if ((revents & (POLLIN | POLLHUP | POLLERR)) && !read_some()) return disconnect(now, false);
  if (state_ == State::kReady && (revents & POLLOUT) && !write_some()) disconnect(now, false);
}

bool Conn::write_some() {
  while (out_pos_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + out_pos_, out_.size() - out_pos_, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    out_pos_ += static_cast<size_t>(n);
    queued_bytes_ -= static_cast<size_t>(n);
  }
  out_.clear();
  out_pos_ = 0;
  return true;
}

bool Conn::read_some() {
  for (;;) {
    if (in_.size() - in_len_ < kReadChunk) in_.resize(in_len_ + kReadChunk);
    ssize_t n = ::recv(fd_, in_.data() + in_len_, in_.size() - in_len_, 0);
    if (n == 0) return false;  // the peer closed
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    in_len_ += static_cast<size_t>(n);
    size_t pos = 0;
    while (in_len_ - pos >= 4) {
      const uint32_t size = load_be32(in_.data() + pos);
      if (size < 4 || size > options_.max_response_bytes) return false;
      if (in_len_ - pos - 4 < size) break;
      if (!deliver(in_.data() + pos + 4, size)) return false;
      pos += 4 + size;
      if (state_ != State::kReady) return true;
    }
    if (pos > 0) {
      std::memmove(in_.data(), in_.data() + pos, in_len_ - pos);
      in_len_ -= pos;
    }
    // Shrink after a large response rather than keep its buffer forever.
    if (in_len_ == 0 && in_.size() > 4 * kReadChunk) in_ = {};
  }
}

bool Conn::deliver(const uint8_t* frame, size_t size) {
  const auto correlation_id = static_cast<int32_t>(load_be32(frame));
  auto it = in_flight_.find(correlation_id);
  if (it == in_flight_.end()) return false;  // not ours: the stream cannot be trusted
  Request r = std::move(it->second);
  in_flight_.erase(it);
  std::optional<std::vector<uint8_t>> body;
  try {
    protocol::WireReader reader(std::span<const uint8_t>(frame, size));
    protocol::ResponseHeader header;
    header.decode(reader, protocol::response_header_version(r.api_key, r.api_version));
    auto rest = reader.rest();
    body.emplace(rest.begin(), rest.end());
  } catch (const std::exception&) {
    fail(r);
    return false;
  }
  r.on_response(std::move(body));
  return true;
}

}  // namespace samsa::net::kafka_client
