// A blocking Kafka connection for the load generator: size-prefixed frames
// out with writev, responses in through one large receive buffer.
//
// Threading: one thread owns a Connection. Socket timeouts (1 s) make every
// call return periodically so the owner can honour its deadline; a call that
// passes `deadline_ns` (bench::now_ns clock) throws ConnectionError.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace samsa::bench::loadgen {

struct ConnectionError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Connection {
 public:
  // Connects (TCP_NODELAY, large socket buffers); throws ConnectionError.
  Connection(const std::string& host, int port, uint64_t deadline_ns);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Writes all of `iov` (whole frames, size prefixes included).
  void write_all(std::span<const iovec> iov, uint64_t deadline_ns);
  void write_all(std::span<const uint8_t> frame, uint64_t deadline_ns);

  // The next response frame without its size prefix. The span stays valid
  // until the next read_frame call.
  std::span<const uint8_t> read_frame(uint64_t deadline_ns);
  // True if a whole frame is already buffered (read_frame will not block).
  bool frame_buffered() const;

 private:
  void fill(size_t need, uint64_t deadline_ns);  // until `need` bytes are buffered

  int fd_ = -1;
  std::vector<uint8_t> buf_;
  size_t begin_ = 0, end_ = 0;  // unread bytes are buf_[begin_, end_)
};

}  // namespace samsa::bench::loadgen
