#pragma once
// The seam between sockets and Kafka: the network layer cuts the byte stream
// into size-prefixed frames and hands each one to a FrameHandler; the handler
// answers through a Reply callback, from any thread, exactly once. The
// connection writes replies in request order whatever order they arrive in.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace samsa::net {

struct ConnectionInfo {
  uint64_t id = 0;
  std::string peer;           // "host:port" of the client
  std::string listener_name;  // e.g. "PLAINTEXT"
};

struct Reply {
  enum class Kind { kSend, kNoResponse, kClose };
  Kind kind = Kind::kSend;
  std::vector<uint8_t> bytes;  // the whole response frame, 4-byte size prefix included

  static Reply send(std::vector<uint8_t> frame) { return Reply{Kind::kSend, std::move(frame)}; }
  static Reply none() { return Reply{Kind::kNoResponse, {}}; }
  static Reply close() { return Reply{Kind::kClose, {}}; }
};

using ReplyFn = std::function<void(Reply)>;
using FramePtr = std::shared_ptr<const std::vector<uint8_t>>;

class FrameHandler {
 public:
  virtual ~FrameHandler() = default;
  // `frame` excludes the size prefix. `reply` must be called exactly once.
  virtual void on_frame(const ConnectionInfo& conn, FramePtr frame, ReplyFn reply) = 0;
};

}  // namespace samsa::net
