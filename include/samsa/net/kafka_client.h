#pragma once
// An outbound Kafka protocol client: what one node uses to talk to another
// (Raft RPCs between controllers, broker registration and heartbeats,
// requests forwarded to the active controller). One connection per
// destination (host, port), opened on first use, requests pipelined on it;
// responses are matched by correlation id. A connection that fails is
// closed, every request in flight on it gets `std::nullopt`, and the next
// request reconnects after a backoff (reconnect.backoff.ms doubling up to
// reconnect.backoff.max.ms, as Kafka's NetworkClient).
//
// Threading: all public calls are thread-safe. Callbacks run on the
// client's own I/O thread, one at a time; they must not block.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::net {

struct KafkaClientOptions {
  std::string client_id;                 // request header ClientId, e.g. "raft-client-1"
  int64_t connect_timeout_ms = 10'000;   // socket.connection.setup.timeout.ms
  int64_t request_timeout_ms = 30'000;   // a request unanswered this long fails with nullopt
  int64_t reconnect_backoff_ms = 50;
  int64_t reconnect_backoff_max_ms = 1000;
  size_t max_response_bytes = 100u << 20;  // a larger response frame drops the connection
  // Bytes of requests queued for one destination and not yet written; a
  // request beyond it fails at once (nullopt).
  size_t max_queued_request_bytes = 100u << 20;
};

struct Endpoint {
  std::string host;
  int32_t port = 0;
  bool operator==(const Endpoint&) const = default;
};

class KafkaClient {
 public:
  // The response body (after the response header), or nullopt when the
  // request failed: no connection, connection lost, timed out, or the client
  // is closing.
  using OnResponse = std::function<void(std::optional<std::vector<uint8_t>> body)>;

  explicit KafkaClient(KafkaClientOptions options);
  ~KafkaClient();  // close()
  KafkaClient(const KafkaClient&) = delete;
  KafkaClient& operator=(const KafkaClient&) = delete;

  // Sends one request: the header (v1, or v2 for a flexible version of the
  // API) is written here with a fresh correlation id; `body` is the encoded
  // request body. `on_response` runs exactly once.
  void send(const Endpoint& to, int16_t api_key, int16_t api_version, std::vector<uint8_t> body,
            OnResponse on_response);

  // Typed convenience over send(): encodes `request` at `version`, decodes
  // the response at the same version (a body that does not decode is a
  // failure: nullopt).
  template <typename Response, typename Request>
  void call(const Endpoint& to, int16_t version, const Request& request,
            std::function<void(std::optional<Response>)> done) {
    protocol::WireWriter w;
    request.encode(w, version);
    send(to, Request::kApiKey, version, w.take(),
         [version, done = std::move(done)](std::optional<std::vector<uint8_t>> body) {
           if (!body) return done(std::nullopt);
           try {
             protocol::WireReader r(*body);
             Response response;
             response.decode(r, version);
             done(std::move(response));
           } catch (const std::exception&) {
             done(std::nullopt);
           }
         });
  }

  // Fails everything in flight (callbacks get nullopt), closes the
  // connections and stops the I/O thread. Idempotent. May be called from a
  // callback (the thread then stops once the callback returns; the
  // destructor joins it), but the destructor itself must not run on the
  // I/O thread. A send() after close() calls back at once, on the caller's
  // thread, with nullopt.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace samsa::net
