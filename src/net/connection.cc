#include "connection.h"

#include <sys/sendfile.h>
#include <sys/uio.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "blocking_reads.h"
#include "uring_reader.h"
#include "samsa/net/peer_log_limiter.h"
#include "samsa/util/logging.h"

namespace samsa::net {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr int kReadsPerTurn = 16;         // reads of one connection before others get a turn
constexpr size_t kMaxGather = 64;         // replies per writev
constexpr size_t kFileChunk = 1u << 20;   // pread/io_uring transfer: bytes per read+write

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

Connection::Connection(boost::asio::io_context& ioc, boost::asio::ip::tcp::socket socket, FrameHandler& handler,
                       ConnectionInfo info, const ConnectionOptions& options, std::shared_ptr<RequestBudget> budget,
                       ClosedFn on_closed)
    : ioc_(ioc),
      socket_(std::move(socket)),
      handler_(handler),
      info_(std::move(info)),
      options_(options),
      on_closed_(std::move(on_closed)),
      assembler_(options.max_frame_bytes, budget),
      budget_(std::move(budget)),
      last_active_ms_(now_ms()) {}

int64_t Connection::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Connection::touch() { last_active_ms_.store(now_ms(), std::memory_order_relaxed); }

void Connection::start() {
  boost::system::error_code ignored;
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
  if (options_.send_buffer_bytes > 0)
    socket_.set_option(boost::asio::socket_base::send_buffer_size(options_.send_buffer_bytes), ignored);
  if (options_.receive_buffer_bytes > 0)
    socket_.set_option(boost::asio::socket_base::receive_buffer_size(options_.receive_buffer_bytes), ignored);
  socket_.non_blocking(true, ignored);  // read_more() reads until the socket would block
  read_more();
}

void Connection::shutdown() {
  boost::asio::post(ioc_, [self = shared_from_this()] {
    if (self->closed_) return;
    self->closing_ = true;
    boost::system::error_code ignored;
    // Stops further requests; replies still owed are written first.
    self->socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_receive, ignored);
    if (self->pending_.empty() && !self->writing_) self->close(nullptr);
  });
}

void Connection::close_if_idle(int64_t cutoff_ms) {
  boost::asio::post(ioc_, [self = shared_from_this(), cutoff_ms] {
    if (self->closed_ || self->writing_ || !self->pending_.empty() || self->last_active_ms() >= cutoff_ms) return;
    log()->debug("Closing idle connection from {} on {} (connections.max.idle.ms)", self->info_.peer,
                 self->info_.listener_name);
    self->close(nullptr);
  });
}

// Reads until the socket would block, a limit pauses reading, or the turn's
// share is used up. Readiness is awaited only after a read came back short:
// the reactor's epoll is edge-triggered, so waiting with unread bytes in the
// socket could wait forever.
void Connection::read_more() {
  if (closed_ || closing_ || read_paused_ || budget_wait_ || waiting_readable_ || in_read_) return;
  in_read_ = true;
  struct Done {
    bool& flag;
    ~Done() { flag = false; }
  } done{in_read_};

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

void Connection::dispatch(FramePtr frame) {
  uint64_t seq = next_seq_++;
  pending_.emplace_back();
  auto self = shared_from_this();
  handler_.on_frame(info_, std::move(frame), [self, seq](Reply reply) {
    auto executor = self->ioc_.get_executor();
    if (executor.running_in_this_thread()) {
      self->complete(seq, std::move(reply));
    } else {
      boost::asio::post(executor, [self, seq, reply = std::move(reply)]() mutable {
        self->complete(seq, std::move(reply));
      });
    }
  });
}

void Connection::complete(uint64_t seq, Reply reply) {
  if (closed_ || seq < first_seq_) return;
  Slot& slot = pending_[seq - first_seq_];
  slot.ready = true;
  queued_bytes_ += reply.frame_size();
  slot.reply = std::move(reply);
  flush();
}

void Connection::flush() {
  if (writing_ || closed_) return;
  parts_.clear();
  size_t slots = 0;
  while (slots < pending_.size() && slots < kMaxGather && pending_[slots].ready) {
    Reply& r = pending_[slots].reply;
    if (r.kind == Reply::Kind::kNoResponse && slots == 0) {
      pending_.pop_front();
      ++first_seq_;
      continue;
    }
    if (r.kind != Reply::Kind::kSend) break;  // close or no-response after what we gather now
    size_t at = 0;
    for (const auto& splice : r.splices) {
      if (splice.at > at) parts_.push_back(Part{r.bytes.data() + at, splice.at - at, nullptr});
      if (splice.range.length > 0) parts_.push_back(Part{nullptr, splice.range.length, &splice.range});
      at = splice.at;
    }
    if (r.bytes.size() > at) parts_.push_back(Part{r.bytes.data() + at, r.bytes.size() - at, nullptr});
    ++slots;
  }
  if (slots > 0) {
    writing_ = true;
    write_slots_ = slots;
    part_index_ = 0;
    file_done_ = 0;
    write_next();
    return;
  }
  if (!pending_.empty() && pending_.front().ready && pending_.front().reply.kind == Reply::Kind::kClose) {
    close(nullptr);  // the handler already logged why
    return;
  }
  maybe_resume();
  if (closing_ && pending_.empty()) close(nullptr);
}

// Sends parts_[part_index_...]: runs of memory parts go out in one gather
// write; file parts go through the configured transfer.
void Connection::write_next() {
  if (closed_) return;
  if (part_index_ == parts_.size()) return on_written({}, write_slots_);
  if (parts_[part_index_].file) return write_file_part();
  write_bufs_.clear();
  size_t end = part_index_;
  while (end < parts_.size() && !parts_[end].file && write_bufs_.size() < 2 * kMaxGather) {
    write_bufs_.emplace_back(parts_[end].data, parts_[end].length);
    ++end;
  }
  boost::asio::async_write(socket_, write_bufs_,
                           [self = shared_from_this(), end](const boost::system::error_code& ec, size_t) {
                             if (ec) return self->on_written(ec, 0);
                             self->part_index_ = end;
                             self->write_next();
                           });
}

void Connection::write_file_part() {
  switch (options_.file_transfer) {
    case FileTransferMode::kSendfile:
      return sendfile_file_part();
    case FileTransferMode::kIoUring:
      if (uring_file_part()) return;
      break;  // no ring on this reactor: pread (the reader logged why)
    case FileTransferMode::kPread:
      break;
  }
  pread_file_part();
}

// io_uring transfer: the reactor's ring reads the chunk, cached or not, and
// the completion writes it like the pread transfer does. The callback owns
// the connection (and so file_buf_) and the file until the kernel is done
// with both, even if the connection closes meanwhile.
bool Connection::uring_file_part() {
  if (uring_ == nullptr) uring_ = &boost::asio::use_service<UringReader>(ioc_);
  if (!uring_->available()) return false;
  const Part& part = parts_[part_index_];
  size_t chunk = std::min(part.length - file_done_, kFileChunk);
  file_buf_.resize(chunk);
  uint64_t offset = part.file->position + file_done_;
  return uring_->read(part.file->fd, file_buf_.data(), chunk, offset,
                      [self = shared_from_this(), owner = part.file->owner](int res) {
                        self->on_file_chunk_read(res, res < 0 ? -res : 0);
                      });
}

// pread transfer: try the page cache without blocking (RWF_NOWAIT); data
// that is not cached is read on the blocking-read pool so the reactor never
// waits for a disk.
void Connection::pread_file_part() {
  const Part& part = parts_[part_index_];
  size_t chunk = std::min(part.length - file_done_, kFileChunk);
  file_buf_.resize(chunk);
  off_t offset = static_cast<off_t>(part.file->position + file_done_);
  int fd = part.file->fd;
  iovec iov{file_buf_.data(), chunk};
  ssize_t n = ::preadv2(fd, &iov, 1, offset, RWF_NOWAIT);
  if (n >= 0 || (errno != EAGAIN && errno != EOPNOTSUPP)) return on_file_chunk_read(n, n < 0 ? errno : 0);
  auto owner = part.file->owner;  // keeps the descriptor open while the pool reads
  boost::asio::post(blocking_reads(), [self = shared_from_this(), owner, fd, offset, chunk] {
    ssize_t r = ::pread(fd, self->file_buf_.data(), chunk, offset);
    int err = r < 0 ? errno : 0;
    boost::asio::post(self->ioc_, [self, r, err] { self->on_file_chunk_read(r, err); });
  });
}

void Connection::on_file_chunk_read(ssize_t n, int err) {
  if (closed_) return;
  if (n <= 0) {
    // The size prefix already promised these bytes: the response cannot be
    // completed, so the connection must go.
    log()->warn("Closing connection from {} on {}: reading fetched data failed: {}", info_.peer,
                info_.listener_name, n == 0 ? "file shorter than expected" : std::strerror(err));
    return close(nullptr);
  }
  boost::asio::async_write(socket_, boost::asio::buffer(file_buf_.data(), static_cast<size_t>(n)),
                           [self = shared_from_this()](const boost::system::error_code& ec, size_t written) {
                             if (ec) return self->on_written(ec, 0);
                             self->file_done_ += written;
                             if (self->file_done_ == self->parts_[self->part_index_].length) {
                               self->file_done_ = 0;
                               ++self->part_index_;
                             }
                             self->write_next();
                           });
}

// sendfile transfer: the kernel copies from the page cache to the socket;
// when the socket buffer is full we wait for it to drain.
void Connection::sendfile_file_part() {
  const Part& part = parts_[part_index_];
  socket_.native_non_blocking(true);
  while (file_done_ < part.length) {
    off_t offset = static_cast<off_t>(part.file->position + file_done_);
    ssize_t n = ::sendfile(socket_.native_handle(), part.file->fd, &offset, part.length - file_done_);
    if (n > 0) {
      file_done_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      socket_.async_wait(boost::asio::ip::tcp::socket::wait_write,
                         [self = shared_from_this()](const boost::system::error_code& ec) {
                           if (ec) return self->on_written(ec, 0);
                           self->sendfile_file_part();
                         });
      return;
    }
    log()->warn("Closing connection from {} on {}: sendfile failed: {}", info_.peer, info_.listener_name,
                n == 0 ? "file shorter than expected" : std::strerror(errno));
    return close(nullptr);
  }
  file_done_ = 0;
  ++part_index_;
  write_next();
}

void Connection::on_written(const boost::system::error_code& ec, size_t slots) {
  writing_ = false;
  if (closed_) return;
  if (ec) {
    close(nullptr);
    return;
  }
  touch();
  for (size_t i = 0; i < slots; ++i) {
    queued_bytes_ -= pending_.front().reply.frame_size();
    pending_.pop_front();
    ++first_seq_;
  }
  parts_.clear();
  flush();
}

void Connection::maybe_resume() {
  if (read_paused_ && !closing_ && !should_pause()) {
    read_paused_ = false;
    if (!in_read_) return read_more();
    boost::asio::post(ioc_, [self = shared_from_this()] { self->read_more(); });
  }
}

void Connection::close(const char* reason) {
  if (closed_) return;
  closed_ = true;
  if (reason) log()->info("Closing connection from {} on {}: {}", info_.peer, info_.listener_name, reason);
  boost::system::error_code ignored;
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  pending_.clear();
  assembler_.reset();
  std::vector<uint8_t>().swap(stash_);
  std::vector<uint8_t>().swap(file_buf_);
  if (on_closed_) on_closed_(info_.id);
}

}  // namespace samsa::net
