#pragma once
// What a handler knows about the request it serves, and how it answers.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "samsa/net/frame_handler.h"
#include "samsa/protocol/wire_writer.h"
#include "samsa/protocol/gen/api_keys.h"

namespace samsa::broker {

class BrokerServices;

enum class ListenerKind { kBroker, kController };

struct RequestContext {
  const net::ConnectionInfo* connection = nullptr;
  ListenerKind listener_kind = ListenerKind::kBroker;
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
  BrokerServices* services = nullptr;
};

// The connection's reply callback, callable once: whoever answers first (the
// handler, or the dispatcher after a failure) wins, later calls do nothing.
class ReplyOnce {
 public:
  explicit ReplyOnce(net::ReplyFn fn) : fn_(std::move(fn)) {}
  bool answered() const { return done_.load(std::memory_order_acquire); }
  void operator()(net::Reply reply) {
    if (!done_.exchange(true, std::memory_order_acq_rel)) fn_(std::move(reply));
  }

 private:
  net::ReplyFn fn_;
  std::atomic<bool> done_{false};
};

// Encodes the response at the request's version, behind the right response
// header, and hands the frame to the connection. Use exactly one of its calls.
class Responder {
 public:
  Responder(const RequestContext& ctx, std::shared_ptr<ReplyOnce> reply)
      : api_key_(ctx.api_key), version_(ctx.api_version), correlation_id_(ctx.correlation_id), reply_(std::move(reply)) {}

  template <typename Response>
  void send(const Response& response) {
    protocol::WireWriter w;
    begin(w);
    response.encode(w, version_);
    finish(w);
  }
  void no_response() { (*reply_)(net::Reply::none()); }
  void close() { (*reply_)(net::Reply::close()); }
  int16_t version() const { return version_; }

 private:
  void begin(protocol::WireWriter& w) const;
  void finish(protocol::WireWriter& w);

  int16_t api_key_;
  int16_t version_;
  int32_t correlation_id_;
  std::shared_ptr<ReplyOnce> reply_;
};

}  // namespace samsa::broker
