#pragma once
// The replica fetcher's own connection to its leader for Fetch requests
// (replica_fetcher_thread.cc). The fetcher thread writes each request and
// blocks on the socket for the answer itself: a follower fetch round trip
// (the acks=all hot path) then costs that thread one sleep and wake-up,
// where a round trip through net::KafkaClient cost three (eventfd wake of
// the client's I/O thread, its poll for the answer, then the condition
// variable back to the fetcher) plus two copies of the request and one of
// the answer. Other requests (ListOffsets) still go through KafkaClient.
//
// Threads: call() from one thread at a time (the fetch loop); interrupt()
// from any thread: it makes a call in progress, and every later one, fail.
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "samsa/net/kafka_client.h"

namespace samsa::broker::replica {

class FetchConnection {
 public:
  struct Options {
    std::string client_id;
    int64_t connect_timeout_ms = 10'000;
    int64_t request_timeout_ms = 30'000;  // per blocking send / receive
    size_t max_response_bytes = 100u << 20;
  };
  // A response frame and where its body starts (after the response header).
  struct Answer {
    std::shared_ptr<std::vector<uint8_t>> frame;
    size_t body_offset = 0;
    std::span<const uint8_t> body() const { return std::span<const uint8_t>(*frame).subspan(body_offset); }
  };

  explicit FetchConnection(Options options);
  ~FetchConnection();
  FetchConnection(const FetchConnection&) = delete;
  FetchConnection& operator=(const FetchConnection&) = delete;

  // Sends one request to `to` (connecting first if needed) and waits for its
  // answer; nullopt on any failure, after which the socket is closed and the
  // next call connects again.
  std::optional<Answer> call(const net::Endpoint& to, int16_t api_key, int16_t api_version,
                             std::span<const uint8_t> body);
  void interrupt();

 private:
  bool ensure_connected(const net::Endpoint& to);
  bool send_all(std::array<std::span<const uint8_t>, 3> parts);  // size prefix, header, body
  bool recv_all(uint8_t* data, size_t size);
  void close_socket();

  const Options options_;
  int32_t next_correlation_id_ = 0;
  // The last answer's frame, reused once nobody holds it (no allocation
  // and no zero-fill of the whole frame per round trip).
  std::shared_ptr<std::vector<uint8_t>> frame_;
  net::Endpoint connected_to_;
  std::mutex mu_;  // fd_ and interrupted_ (interrupt() against open/close)
  int fd_ = -1;
  bool interrupted_ = false;
};

}  // namespace samsa::broker::replica
