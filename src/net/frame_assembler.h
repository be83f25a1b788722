#pragma once
// Cuts a byte stream into size-prefixed frames without trusting the prefix:
// the body buffer grows geometrically as bytes actually arrive (never to the
// announced size at once), so a client announcing 100 MB and sending 1 KB
// costs a few KB. The announced size is reserved in the RequestBudget when
// the prefix is complete; the reservation travels with the finished frame
// and is released when the last FramePtr to it goes.
//
// Not thread-safe: one per connection, used on its reactor.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "samsa/net/frame_handler.h"
#include "samsa/net/request_budget.h"

namespace samsa::net {

class FrameAssembler {
 public:
  enum class Status {
    kNeedMore,   // every byte given was consumed; the frame is not complete
    kFrame,      // a frame is complete: take_frame()
    kBlocked,    // the prefix is read but the budget is spent: retry_reserve() later
    kTooLarge,   // the prefix announces more than max_frame_bytes
    kNegative,   // the prefix is negative
  };

  FrameAssembler(size_t max_frame_bytes, std::shared_ptr<RequestBudget> budget);
  ~FrameAssembler();
  FrameAssembler(const FrameAssembler&) = delete;
  FrameAssembler& operator=(const FrameAssembler&) = delete;

  // Consumes bytes of [data, data + n) up to the end of the current frame (or
  // its prefix when that blocks) and says what happened; `consumed` tells how
  // many were taken.
  Status feed(const uint8_t* data, size_t n, size_t& consumed);
  // After kBlocked: tries the reservation again.
  bool retry_reserve();

  // Reading straight into the body: while a body is being read, returns room
  // for at least one byte, growing the buffer to hold what has `arrived`
  // (bytes waiting on the socket) and at least doubling it, capped at the
  // announced size. Then commit() what was read into it.
  bool in_body() const { return in_body_; }
  std::span<uint8_t> body_space(size_t arrived);
  Status commit(size_t n);

  // REQUIRES: the last status was kFrame.
  FramePtr take_frame();

  // Drops any partial frame and gives its reservation back.
  void reset();

  int32_t announced() const { return announced_; }
  // Bytes this assembler holds in memory (the partial body's buffer).
  size_t allocated() const { return body_.capacity(); }
  // True between frames: nothing partial is held.
  bool idle() const { return !in_body_ && header_len_ == 0 && !frame_ready_; }

 private:
  Status start_body();
  void grow_to(size_t at_least);

  const size_t max_frame_bytes_;
  std::shared_ptr<RequestBudget> budget_;
  uint8_t header_[4] = {};
  uint8_t header_len_ = 0;
  int32_t announced_ = 0;
  bool in_body_ = false;
  bool frame_ready_ = false;
  size_t reserved_ = 0;  // budget held for the frame being read
  std::vector<uint8_t> body_;
  size_t have_ = 0;      // body bytes received
};

}  // namespace samsa::net
