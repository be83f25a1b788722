// FetchConnection (fetch_connection.h): one blocking TCP socket to the
// leader. The connect is non-blocking and polled in short slices so that
// interrupt() is seen during it; once connected the socket blocks with
// SO_SNDTIMEO/SO_RCVTIMEO as the time limits, and interrupt() shuts it down,
// which wakes a blocked send or receive at once.
#include "fetch_connection.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>

#include "samsa/net/tcp_connect.h"
#include "samsa/protocol/gen/api_keys.h"
#include "samsa/protocol/gen/request_header.h"
#include "samsa/protocol/gen/response_header.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::broker::replica {
namespace {

// How often a connect in progress looks at interrupt().
constexpr int kConnectSliceMs = 100;

timeval to_timeval(int64_t ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

FetchConnection::FetchConnection(Options options) : options_(std::move(options)) {}

FetchConnection::~FetchConnection() { close_socket(); }

void FetchConnection::interrupt() {
  std::lock_guard lock(mu_);
  interrupted_ = true;
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void FetchConnection::close_socket() {
  std::lock_guard lock(mu_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool FetchConnection::ensure_connected(const net::Endpoint& to) {
  {
    std::lock_guard lock(mu_);
    if (interrupted_) return false;
    if (fd_ >= 0 && connected_to_ == to) return true;
  }
  close_socket();
  bool in_progress = false;
  const int fd = net::start_tcp_connect(to, in_progress);
  if (fd < 0) return false;
  {
    std::lock_guard lock(mu_);
    fd_ = fd;
    connected_to_ = to;
    if (interrupted_) return false;  // the destructor (or the next call) closes it
  }
  if (in_progress) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.connect_timeout_ms);
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (interrupted_) return false;
      }
      pollfd p{fd, POLLOUT, 0};
      const int n = ::poll(&p, 1, kConnectSliceMs);
      if (n < 0 && errno != EINTR) return close_socket(), false;
      if (n > 0) break;
      if (std::chrono::steady_clock::now() >= deadline) return close_socket(), false;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return close_socket(), false;
  }
  // Blocking from here on, within the request time limit.
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) return close_socket(), false;
  const timeval tv = to_timeval(options_.request_timeout_ms);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return true;
}

bool FetchConnection::send_all(std::array<std::span<const uint8_t>, 3> parts) {
  constexpr size_t kParts = 3;
  iovec iov[kParts];
  for (size_t i = 0; i < kParts; ++i) iov[i] = {const_cast<uint8_t*>(parts[i].data()), parts[i].size()};
  size_t first = 0;
  while (first < kParts && iov[first].iov_len == 0) ++first;
  while (first < kParts) {
    msghdr msg{};
    msg.msg_iov = iov + first;
    msg.msg_iovlen = kParts - first;
    const ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // EAGAIN here is the send time limit
    auto left = static_cast<size_t>(n);
    while (first < kParts && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      ++first;
    }
    if (first < kParts) {
      iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return true;
}

bool FetchConnection::recv_all(uint8_t* data, size_t size) {
  size_t got = 0;
  while (got < size) {
    const ssize_t n = ::recv(fd_, data + got, size - got, MSG_WAITALL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // closed, interrupted, or the receive time limit
    got += static_cast<size_t>(n);
  }
  return true;
}

std::optional<FetchConnection::Answer> FetchConnection::call(const net::Endpoint& to, int16_t api_key,
                                                             int16_t api_version, std::span<const uint8_t> body) {
  if (!ensure_connected(to)) return std::nullopt;
  const int32_t correlation_id = next_correlation_id_;
  next_correlation_id_ = next_correlation_id_ == INT32_MAX ? 0 : next_correlation_id_ + 1;

  protocol::WireWriter w;
  protocol::RequestHeader header;
  header.request_api_key = api_key;
  header.request_api_version = api_version;
  header.correlation_id = correlation_id;
  header.client_id = options_.client_id;
  header.encode(w, protocol::request_header_version(api_key, api_version));
  const auto size = static_cast<uint32_t>(w.size() + body.size());
  const uint8_t size_prefix[4] = {static_cast<uint8_t>(size >> 24), static_cast<uint8_t>(size >> 16),
                                  static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size)};
  if (!send_all({size_prefix, std::span<const uint8_t>(w.data(), w.size()), body})) return close_socket(), std::nullopt;

  uint8_t size_bytes[4];
  if (!recv_all(size_bytes, sizeof size_bytes)) return close_socket(), std::nullopt;
  const uint32_t frame_size = load_be32(size_bytes);
  if (frame_size < 4 || frame_size > options_.max_response_bytes) return close_socket(), std::nullopt;
  if (!frame_ || frame_.use_count() > 1) frame_ = std::make_shared<std::vector<uint8_t>>();
  frame_->resize(frame_size);  // zero-fills only what grows past the last frame
  auto frame = frame_;
  if (!recv_all(frame->data(), frame->size())) return close_socket(), std::nullopt;
  // One request at a time: the answer must be to this one.
  if (static_cast<int32_t>(load_be32(frame->data())) != correlation_id) return close_socket(), std::nullopt;
  try {
    protocol::WireReader r(*frame);
    protocol::ResponseHeader rh;
    rh.decode(r, protocol::response_header_version(api_key, api_version));
    const size_t offset = frame->size() - r.rest().size();
    return Answer{std::move(frame), offset};
  } catch (const std::exception&) {
    close_socket();
    return std::nullopt;
  }
}

}  // namespace samsa::broker::replica
