// Connection's read side: cutting the byte stream into frames with bounded
// memory, and pausing while limits or the request budget say so.
#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "connection.h"
#include "samsa/net/peer_log_limiter.h"
#include "samsa/util/logging.h"
#include "samsa/util/turn_scope.h"

namespace samsa::net {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr int kReadsPerTurn = 16;  // reads of one connection before others get a turn

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.network.Connection");
  return l;
}

// Every read lands here first, so connections between frames hold no
// buffer of their own; frames are copied out of it.
std::vector<uint8_t>& scratch() {
  thread_local std::vector<uint8_t> buf(kReadChunk);
  return buf;
}

}  // namespace

// One read turn. The requests it dispatches may defer work to its end
// (util/turn_scope.h: produce writes what it staged there, once per
// partition), and the replies completed meanwhile are corked: they leave
// together, in one gather write, after that work. A turn that reads one
// request waits for nothing: it ends as soon as the socket has no more.
void Connection::read_more() {
  if (closed_ || closing_ || read_paused_ || budget_wait_ || waiting_readable_ || in_read_) return;
  in_read_ = true;
  {
    util::TurnScope turn;
    read_turn();
    turn.finish();
  }
  in_read_ = false;
  flush();
}

// Reads until the socket would block, a limit pauses reading, or the turn's
// share is used up. Readiness is awaited only after a read came back short:
// the reactor's epoll is edge-triggered, so waiting with unread bytes in the
// socket could wait forever.
void Connection::read_turn() {
  // Bytes left over from before a pause come first (with none, this still
  // retries a reservation the budget refused).
  std::vector<uint8_t> left = std::move(stash_);
  size_t pos = stash_pos_;
  stash_.clear();
  stash_pos_ = 0;
  if (!process(left.data() + pos, left.size() - pos)) return;
  left = {};

  for (int turn = 0; turn < kReadsPerTurn; ++turn) {
    boost::system::error_code ec;
    size_t asked = 0, n = 0;
    if (assembler_.in_body()) {
      // A partial frame: read straight into its buffer, grown for what has arrived.
      size_t arrived = socket_.available(ec);
      if (ec) arrived = 0, ec.clear();
      auto space = assembler_.body_space(arrived);
      asked = space.size();
      n = socket_.read_some(boost::asio::buffer(space.data(), space.size()), ec);
      if (!ec) {
        touch();
        if (!handle_status(assembler_.commit(n))) return;
      }
    } else {
      std::vector<uint8_t>& buf = scratch();
      asked = buf.size();
      n = socket_.read_some(boost::asio::buffer(buf), ec);
      if (!ec) {
        touch();
        if (!process(buf.data(), n)) return;
      }
    }
    if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) return wait_readable();
    if (ec) return on_read_error(ec);
    if (n < asked) return wait_readable();
  }
  // More may be waiting: let the reactor's other connections have a turn first.
  boost::asio::post(ioc_, [self = shared_from_this()] { self->read_more(); });
}

void Connection::wait_readable() {
  waiting_readable_ = true;
  socket_.async_wait(boost::asio::ip::tcp::socket::wait_read,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                       self->waiting_readable_ = false;
                       if (self->closed_ || ec == boost::asio::error::operation_aborted) return;
                       if (ec) return self->on_read_error(ec);
                       self->read_more();
                     });
}

void Connection::on_read_error(const boost::system::error_code&) {
  if (closing_) {
    if (pending_.empty() && !writing_) close(nullptr);
    return;  // the replies still owed close the connection when written
  }
  close(nullptr);  // peer went away
}

// Cuts [data, data + n) into frames. Returns false when reading must stop
// (paused, waiting for the budget, or closed); what was not consumed is
// stashed for the resume.
bool Connection::process(const uint8_t* data, size_t n) {
  do {
    size_t used = 0;
    auto status = assembler_.feed(data, n, used);
    data += used;
    n -= used;
    if (!handle_status(status)) {
      if (!closed_) stash(data, n);
      return false;
    }
  } while (n > 0);
  return true;
}

bool Connection::handle_status(FrameAssembler::Status status) {
  using S = FrameAssembler::Status;
  switch (status) {
    case S::kNeedMore:
      return true;
    case S::kFrame:
      dispatch(assembler_.take_frame());
      if (closed_ || closing_) return false;
      if (should_pause()) {
        read_paused_ = true;
        return false;
      }
      return true;
    case S::kBlocked:
      wait_for_budget();
      return false;
    case S::kNegative:
      bad_input_log().log(log(), spdlog::level::warn, info_.peer,
                          fmt::format("Closing connection from {} on {}: invalid frame size {}", info_.peer,
                                      info_.listener_name, assembler_.announced()));
      break;
    case S::kTooLarge:
      bad_input_log().log(log(), spdlog::level::warn, info_.peer,
                          fmt::format("Closing connection from {} on {}: frame of {} bytes exceeds "
                                      "socket.request.max.bytes ({})",
                                      info_.peer, info_.listener_name, assembler_.announced(),
                                      options_.max_frame_bytes));
      break;
  }
  close(nullptr);
  return false;
}

void Connection::wait_for_budget() {
  budget_wait_ = true;
  // The waiter owns the connection: while it waits, no socket operation does.
  budget_->wait([self = shared_from_this()] {
    boost::asio::post(self->ioc_, [self] {
      self->budget_wait_ = false;
      self->read_more();
    });
  });
}

void Connection::stash(const uint8_t* data, size_t n) {
  if (n == 0) return;
  stash_.insert(stash_.end(), data, data + n);
}

bool Connection::should_pause() const {
  return pending_.size() >= options_.max_in_flight || queued_bytes_ >= options_.max_queued_reply_bytes;
}

}  // namespace samsa::net
