#include "connection.h"

#include <sys/sendfile.h>
#include <sys/uio.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "blocking_reads.h"
#include "page_cache.h"
#include "transfer_stats.h"
#include "uring_reader.h"
#include "samsa/util/logging.h"

namespace samsa::net {
namespace {

constexpr size_t kMaxGather = 64;         // replies per writev
constexpr size_t kFileChunk = 1u << 20;   // pread/io_uring transfer: bytes per read+write; auto: per cache probe
// Cached file ranges up to this size are copied into the gather write (auto
// and pread transfers): a read and a write (or a sendfile) per range cost
// more than the copy.
constexpr size_t kInlineRange = 64u << 10;
constexpr size_t kInlineTotal = 256u << 10;  // per write, so the buffer stays small

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.network.Connection");
  return l;
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
  // Corked during a read turn: the turn's replies leave together after it.
  // A close is acted on at once (no further request of this connection runs).
  const bool close_now = reply.kind == Reply::Kind::kClose;
  slot.reply = std::move(reply);
  if (in_read_ && !close_now) return;
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
    if (options_.file_transfer == FileTransferMode::kPread || options_.file_transfer == FileTransferMode::kAuto)
      inline_small_file_parts();
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

// Replaces small file parts whose bytes are in the page cache by copies in
// inline_buf_, so that write_next() gathers them with the memory parts
// around them. A range not (fully) cached stays a file part.
void Connection::inline_small_file_parts() {
  size_t total = 0;
  for (const Part& p : parts_)
    if (p.file && p.length <= kInlineRange) total += p.length;
  total = std::min(total, kInlineTotal);
  if (total == 0) return;
  if (inline_buf_size_ < total) {  // no write is under way (flush), so nothing points into it
    inline_buf_.reset(new uint8_t[total]);
    inline_buf_size_ = total;
  }
  size_t used = 0;
  for (Part& p : parts_) {
    if (!p.file || p.length > kInlineRange || used + p.length > inline_buf_size_) continue;
    iovec iov{inline_buf_.get() + used, p.length};
    ssize_t n = ::preadv2(p.file->fd, &iov, 1, static_cast<off_t>(p.file->position), RWF_NOWAIT);
    if (n != static_cast<ssize_t>(p.length)) continue;  // not cached, or short: the transfer deals with it
    p = Part{inline_buf_.get() + used, p.length, nullptr};
    used += p.length;
  }
  if (used > 0) transfer_stats().inlined_bytes.fetch_add(used, std::memory_order_relaxed);
}

void Connection::write_file_part() {
  switch (options_.file_transfer) {
    case FileTransferMode::kAuto:
      if (sendfile_cached_part()) return;
      break;  // not (all) cached, or no way to tell: pread, which reads cold bytes on the pool
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
  uint8_t* buf = file_buffer(chunk);
  uint64_t offset = part.file->position + file_done_;
  return uring_->read(part.file->fd, buf, chunk, offset,
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
  uint8_t* buf = file_buffer(chunk);
  off_t offset = static_cast<off_t>(part.file->position + file_done_);
  int fd = part.file->fd;
  iovec iov{buf, chunk};
  ssize_t n = ::preadv2(fd, &iov, 1, offset, RWF_NOWAIT);
  if (n >= 0 || (errno != EAGAIN && errno != EOPNOTSUPP)) return on_file_chunk_read(n, n < 0 ? errno : 0);
  auto owner = part.file->owner;  // keeps the descriptor open while the pool reads
  transfer_stats().pool_reads.fetch_add(1, std::memory_order_relaxed);
  boost::asio::post(blocking_reads(), [self = shared_from_this(), owner, buf, fd, offset, chunk] {
    ssize_t r = ::pread(fd, buf, chunk, offset);  // `self` keeps buf alive
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
  transfer_stats().copied_bytes.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
  boost::asio::async_write(socket_, boost::asio::buffer(file_buf_.get(), static_cast<size_t>(n)),
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

// auto transfer: the next chunk of the file part goes by sendfile if the
// page cache holds all of it. On loopback and most NICs the socket then
// references the cached pages instead of a copy (pread + write copies every
// byte twice), and a sendfile of cached bytes never waits for the disk.
// False: pread_file_part() takes this chunk (cold bytes go to the pool).
bool Connection::sendfile_cached_part() {
  const Part& part = parts_[part_index_];
  size_t chunk = std::min(part.length - file_done_, kFileChunk);
  if (page_cache_state(part.file->fd, part.file->position + file_done_, chunk) != CacheState::kCached) return false;
  file_send_end_ = file_done_ + chunk;
  sendfile_until_end();
  return true;
}

// sendfile transfer: every range, cached or not (a cold range blocks the reactor).
void Connection::sendfile_file_part() {
  file_send_end_ = parts_[part_index_].length;
  sendfile_until_end();
}

// Sends the current file part up to file_send_end_ with sendfile; when the
// socket buffer is full it waits for it to drain. Then the next part, or
// (auto) the next chunk of this one.
void Connection::sendfile_until_end() {
  if (closed_) return;
  const Part& part = parts_[part_index_];
  socket_.native_non_blocking(true);
  while (file_done_ < file_send_end_) {
    off_t offset = static_cast<off_t>(part.file->position + file_done_);
    ssize_t n = ::sendfile(socket_.native_handle(), part.file->fd, &offset, file_send_end_ - file_done_);
    if (n > 0) {
      file_done_ += static_cast<size_t>(n);
      transfer_stats().sendfile_bytes.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      socket_.async_wait(boost::asio::ip::tcp::socket::wait_write,
                         [self = shared_from_this()](const boost::system::error_code& ec) {
                           if (ec) return self->on_written(ec, 0);
                           self->sendfile_until_end();
                         });
      return;
    }
    log()->warn("Closing connection from {} on {}: sendfile failed: {}", info_.peer, info_.listener_name,
                n == 0 ? "file shorter than expected" : std::strerror(errno));
    return close(nullptr);
  }
  if (file_done_ < part.length) return write_file_part();
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
  if (pending_.empty()) {  // nothing in flight uses the file buffers now
    file_buf_.reset();
    file_buf_size_ = 0;
    inline_buf_.reset();
    inline_buf_size_ = 0;
  }
  flush();
}

uint8_t* Connection::file_buffer(size_t bytes) {
  if (file_buf_size_ < bytes) {
    file_buf_.reset(new uint8_t[bytes]);
    file_buf_size_ = bytes;
  }
  return file_buf_.get();
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
  // file_buf_ stays: a read into it may still be in flight (its callback owns us).
  if (on_closed_) on_closed_(info_.id);
}

}  // namespace samsa::net
