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

#include "samsa/util/file_range.h"

namespace samsa::net {

struct ConnectionInfo {
  uint64_t id = 0;
  std::string peer;           // "host:port" of the client
  std::string listener_name;  // e.g. "PLAINTEXT"
};

// A file range whose bytes belong at offset `at` of a reply's buffer.
struct FileSplice {
  size_t at = 0;
  util::FileRange range;
};

struct Reply {
  enum class Kind { kSend, kNoResponse, kClose };
  Kind kind = Kind::kSend;
  // The response frame, 4-byte size prefix included, with the bytes of each
  // splice (in ascending `at` order) inserted where it says.
  std::vector<uint8_t> bytes;
  std::vector<FileSplice> splices;

  size_t frame_size() const {
    size_t n = bytes.size();
    for (const auto& s : splices) n += s.range.length;
    return n;
  }

  static Reply send(std::vector<uint8_t> frame, std::vector<FileSplice> splices = {}) {
    return Reply{Kind::kSend, std::move(frame), std::move(splices)};
  }
  static Reply none() { return Reply{Kind::kNoResponse, {}, {}}; }
  static Reply close() { return Reply{Kind::kClose, {}, {}}; }
};

using ReplyFn = std::function<void(Reply)>;
using FramePtr = std::shared_ptr<const std::vector<uint8_t>>;

class FrameHandler {
 public:
  virtual ~FrameHandler() = default;
  // `frame` excludes the size prefix. `reply` must be called exactly once.
  // The frame's bytes are a heap buffer made for this call alone: nothing
  // else reads them, so a handler may rewrite them in place (Produce assigns
  // offsets in the batches it appends) although the pointer says const.
  virtual void on_frame(const ConnectionInfo& conn, FramePtr frame, ReplyFn reply) = 0;
};

}  // namespace samsa::net
