#include "connection.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "../options.h"  // now_ns

namespace samsa::bench::loadgen {
namespace {

constexpr size_t kMinReadBuffer = 1 << 20;  // one recv moves up to this much

[[noreturn]] void fail(const std::string& what) {
  throw ConnectionError(what + ": " + std::strerror(errno));
}

void check_deadline(uint64_t deadline_ns, const char* what) {
  if (now_ns() > deadline_ns) throw ConnectionError(std::string("timed out ") + what);
}

}  // namespace

Connection::Connection(const std::string& host, int port, uint64_t deadline_ns)
    : buf_(kMinReadBuffer) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0)
    throw ConnectionError("resolve " + host + ": " + gai_strerror(rc));
  std::string last_error = "no address for " + host;
  for (addrinfo* a = res; a != nullptr && fd_ < 0; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      fd_ = fd;
    } else {
      last_error = "connect " + host + ":" + service + ": " + std::strerror(errno);
      close(fd);
    }
  }
  freeaddrinfo(res);
  if (fd_ < 0) throw ConnectionError(last_error);
  const int one = 1, bufsize = 4 << 20;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
  // Blocking calls wake at least once a second to look at their deadline.
  timeval tv{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  check_deadline(deadline_ns, "connecting");
}

Connection::~Connection() {
  if (fd_ >= 0) close(fd_);
}

void Connection::write_all(std::span<const iovec> iov_in, uint64_t deadline_ns) {
  std::vector<iovec> iov(iov_in.begin(), iov_in.end());
  size_t first = 0;
  while (first < iov.size()) {
    const int n = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    const ssize_t w = writev(fd_, &iov[first], n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        check_deadline(deadline_ns, "writing");
        continue;
      }
      fail("writev");
    }
    auto left = static_cast<size_t>(w);
    while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (left > 0) {
      iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
}

void Connection::write_all(std::span<const uint8_t> frame, uint64_t deadline_ns) {
  const iovec one{const_cast<uint8_t*>(frame.data()), frame.size()};
  write_all(std::span<const iovec>(&one, 1), deadline_ns);
}

void Connection::fill(size_t need, uint64_t deadline_ns) {
  if (end_ - begin_ >= need) return;
  if (buf_.size() - begin_ < need) {  // make room: move the unread tail to the front
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    if (buf_.size() < need) buf_.resize(std::max(need, 2 * buf_.size()));
  }
  while (end_ - begin_ < need) {
    const ssize_t r = recv(fd_, buf_.data() + end_, buf_.size() - end_, 0);
    if (r > 0) {
      end_ += static_cast<size_t>(r);
    } else if (r == 0) {
      throw ConnectionError("connection closed by the broker");
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      check_deadline(deadline_ns, "waiting for a response");
    } else if (errno != EINTR) {
      fail("recv");
    }
  }
}

bool Connection::frame_buffered() const {
  if (end_ - begin_ < 4) return false;
  const uint8_t* p = buf_.data() + begin_;
  const uint32_t size = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  return end_ - begin_ >= size_t{4} + size;
}

std::span<const uint8_t> Connection::read_frame(uint64_t deadline_ns) {
  fill(4, deadline_ns);
  const uint8_t* p = buf_.data() + begin_;
  const uint32_t size = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  if (size > (1u << 30)) throw ConnectionError("response frame of " + std::to_string(size) + " bytes");
  fill(4 + size, deadline_ns);
  std::span<const uint8_t> frame(buf_.data() + begin_ + 4, size);
  begin_ += 4 + size;
  if (begin_ == end_) begin_ = end_ = 0;
  return frame;
}

}  // namespace samsa::bench::loadgen
