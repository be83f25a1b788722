#pragma once
// File reads through io_uring for one reactor (one io_context), so that a
// fetch of data that is not in the page cache neither blocks the reactor nor
// needs the blocking-read pool. It is an Asio service: use_service() creates
// it lazily, once per io_context, and the io_context's teardown drains it.
//
// Completions are signalled on an eventfd registered with the ring, which the
// reactor watches like any other descriptor. The eventfd is only watched
// while reads are in flight: an idle ring must not count as outstanding work,
// or io_context::run() would never return once its work guard is gone.
//
// Everything but the constructor's log line runs on the io_context's thread.
#include <liburing.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace samsa::net {

class UringReader : public boost::asio::execution_context::service {
 public:
  // Called with the read's result: bytes read (0 = end of file) or -errno.
  using DoneFn = std::function<void(int result)>;

  static inline boost::asio::execution_context::id id;

  explicit UringReader(boost::asio::io_context& ioc);
  ~UringReader() override;

  // False when the ring could not be set up (no io_uring in this kernel,
  // forbidden by seccomp or sysctl, or SAMSA_DISABLE_IO_URING=1): callers
  // use another transfer instead.
  bool available() const { return ring_ok_; }

  // Reads up to `length` bytes at `offset` of `fd` into `buf`; `done` runs on
  // the io_context thread when the kernel is finished with `buf`. Whatever
  // `done` captures stays alive until then, so it must own `buf` and `fd`.
  // The read is submitted at the end of the current handler, together with
  // other reads issued meanwhile on this reactor. Returns false (and drops
  // `done`) when the read cannot be queued; the caller then reads otherwise.
  bool read(int fd, void* buf, size_t length, uint64_t offset, DoneFn done);

  size_t in_flight() const { return ops_.size(); }

 private:
  void shutdown() override;
  void schedule_submit();
  void submit();
  void watch();
  void reap();

  boost::asio::io_context& ioc_;
  io_uring ring_{};
  bool ring_ok_ = false;
  int event_fd_ = -1;
  std::unique_ptr<boost::asio::posix::stream_descriptor> events_;
  uint64_t event_count_ = 0;  // eventfd read target
  bool watching_ = false;
  bool submit_scheduled_ = false;
  size_t unsubmitted_ = 0;  // SQEs prepared but not yet handed to the kernel
  uint64_t next_op_ = 1;
  std::unordered_map<uint64_t, DoneFn> ops_;  // by SQE user_data: prepared or in flight
};

}  // namespace samsa::net
