#pragma once
// One destination of net::KafkaClient: a non-blocking socket with its queue
// of requests waiting for the connection, the requests in flight (written,
// not yet answered) and the read/write buffers.
//
// States: idle (no socket; a queued request starts a connect once the
// reconnect backoff has passed) -> connecting (until connected or the
// connect timeout) -> ready. Any failure closes the socket, fails every
// request in flight, and back to idle with a backoff.
//
// Threading: used only by the client's I/O thread; callbacks run inline.
#include <chrono>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

#include "samsa/net/kafka_client.h"

namespace samsa::net::kafka_client {

using Clock = std::chrono::steady_clock;

struct Request {
  Endpoint to;
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::vector<uint8_t> frame;  // size prefix + header + body; emptied once buffered for writing
  KafkaClient::OnResponse on_response;
  Clock::time_point deadline;
};

class Conn {
 public:
  Conn(Endpoint endpoint, const KafkaClientOptions& options);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  const Endpoint& endpoint() const { return endpoint_; }
  int fd() const { return fd_; }

  // Takes a new request; fails it at once when the queue is over its bound.
  void enqueue(Request request, Clock::time_point now);
  // Timeouts, connect deadlines, and starting a connect after the backoff.
  void tick(Clock::time_point now);
  // When tick() next has something to do (time_point::max() if never).
  Clock::time_point next_deadline() const;
  // poll(2) events wanted, 0 when there is no socket.
  short poll_events() const;
  void on_ready(short revents, Clock::time_point now);
  // Fails every request, waiting or in flight, and closes the socket.
  void fail_all();

 private:
  enum class State { kIdle, kConnecting, kReady };

  void start_connect(Clock::time_point now);
  void on_connected();
  // Closes the socket and fails what is in flight; `connect_failed` also
  // fails the requests waiting for this connection and grows the backoff.
  void disconnect(Clock::time_point now, bool connect_failed);
  void flush_waiting();
  bool write_some();
  bool read_some();
  bool deliver(const uint8_t* frame, size_t size);

  const Endpoint endpoint_;
  const KafkaClientOptions& options_;
  State state_ = State::kIdle;
  int fd_ = -1;
  Clock::time_point connect_deadline_{};
  Clock::time_point backoff_until_{};
  int64_t backoff_ms_ = 0;  // the backoff the next failure sets

  std::deque<Request> waiting_;
  std::unordered_map<int32_t, Request> in_flight_;
  std::vector<uint8_t> out_;
  size_t out_pos_ = 0;
  std::vector<uint8_t> in_;
  size_t in_len_ = 0;
  size_t queued_bytes_ = 0;  // waiting frames + unwritten bytes of out_
};

}  // namespace samsa::net::kafka_client
