#include "uring_reader.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

#include "samsa/util/logging.h"

namespace samsa::net {
namespace {

// Submission queue size. Each connection has at most one read in flight, and
// reads issued in one reactor turn share a submit; when the queue fills up we
// submit early. The kernel keeps completions beyond the CQ size (NODROP), and
// reap() flushes them.
constexpr unsigned kEntries = 256;

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.network.UringReader");
  return l;
}

// Every reactor tries its own ring; one warning is enough when they all fail.
void warn_unavailable(const char* why) {
  static std::atomic<bool> warned{false};
  if (!warned.exchange(true))
    log()->warn("samsa.fetch.transfer=io_uring: io_uring is not usable ({}); using pread instead", why);
}

bool disabled_by_env() {
  const char* v = std::getenv("SAMSA_DISABLE_IO_URING");
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

}  // namespace

UringReader::UringReader(boost::asio::io_context& ioc) : service(ioc), ioc_(ioc) {
  if (disabled_by_env()) {
    warn_unavailable("SAMSA_DISABLE_IO_URING is set");
    return;
  }
  int rc = ::io_uring_queue_init(kEntries, &ring_, 0);
  if (rc < 0) {  // ENOSYS, EPERM (seccomp, io_uring_disabled sysctl), ENOMEM (memlock limit)
    warn_unavailable(std::strerror(-rc));
    return;
  }
  const char* why = nullptr;
  io_uring_probe* probe = ::io_uring_get_probe_ring(&ring_);
  if (probe == nullptr || !::io_uring_opcode_supported(probe, IORING_OP_READ)) why = "IORING_OP_READ unsupported";
  if (probe != nullptr) ::io_uring_free_probe(probe);
  if (why == nullptr) {
    event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (event_fd_ < 0) why = "eventfd failed";
  }
  if (why == nullptr && (rc = ::io_uring_register_eventfd(&ring_, event_fd_)) < 0) why = std::strerror(-rc);
  if (why != nullptr) {
    if (event_fd_ >= 0) ::close(event_fd_);
    event_fd_ = -1;
    ::io_uring_queue_exit(&ring_);
    warn_unavailable(why);
    return;
  }
  events_ = std::make_unique<boost::asio::posix::stream_descriptor>(ioc_, event_fd_);  // owns the eventfd now
  ring_ok_ = true;
  log()->debug("io_uring ready for fetch transfers");
}

UringReader::~UringReader() {
  if (!ring_ok_) return;
  events_.reset();
  ::io_uring_queue_exit(&ring_);
}

// Runs when the io_context is destroyed, before any handler is destroyed.
// The kernel may still be writing into buffers that the callbacks keep alive,
// so wait for every read to finish before letting the callbacks go.
void UringReader::shutdown() {
  if (!ring_ok_) return;
  if (unsubmitted_ > 0) ::io_uring_submit(&ring_);
  while (!ops_.empty()) {
    io_uring_cqe* cqe = nullptr;
    int rc = ::io_uring_wait_cqe(&ring_, &cqe);
    if (rc == -EINTR) continue;
    if (rc < 0) {
      // Cannot tell when the kernel is done with the buffers: leak them
      // rather than risk it writing into freed memory.
      log()->error("io_uring: waiting for {} reads at shutdown failed: {}", ops_.size(), std::strerror(-rc));
      new auto(std::move(ops_));
      ops_.clear();
      break;
    }
    ops_.erase(cqe->user_data);
    ::io_uring_cqe_seen(&ring_, cqe);
  }
}

bool UringReader::read(int fd, void* buf, size_t length, uint64_t offset, DoneFn done) {
  if (!ring_ok_) return false;
  io_uring_sqe* sqe = ::io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {  // the queue is full of reads not yet submitted: submit them now
    submit();
    sqe = ::io_uring_get_sqe(&ring_);
    if (sqe == nullptr) return false;
  }
  ::io_uring_prep_read(sqe, fd, buf, static_cast<unsigned>(length), offset);
  uint64_t op = next_op_++;
  ::io_uring_sqe_set_data64(sqe, op);
  ops_.emplace(op, std::move(done));
  ++unsubmitted_;
  schedule_submit();
  watch();
  return true;
}

// One io_uring_enter for all reads a reactor turn issues.
void UringReader::schedule_submit() {
  if (submit_scheduled_) return;
  submit_scheduled_ = true;
  boost::asio::post(ioc_, [this] {
    submit_scheduled_ = false;
    submit();
  });
}

void UringReader::submit() {
  if (unsubmitted_ == 0) return;
  int rc = ::io_uring_submit(&ring_);
  if (rc >= 0) {
    unsubmitted_ -= std::min(unsubmitted_, static_cast<size_t>(rc));
    return;
  }
  // The SQEs stay queued in the ring on failure (EAGAIN/EBUSY: the kernel is
  // short of memory or completions): the kernel takes them on a later submit,
  // which the next completion or read triggers.
  log()->warn("io_uring submit failed: {}; retrying", std::strerror(-rc));
  if (ops_.size() == unsubmitted_) schedule_submit();  // no completion will come to retry
}

// Waits for the eventfd only while reads are outstanding (see the header).
void UringReader::watch() {
  if (watching_ || ops_.empty()) return;
  watching_ = true;
  events_->async_read_some(boost::asio::buffer(&event_count_, sizeof event_count_),
                           [this](const boost::system::error_code& ec, size_t) {
                             watching_ = false;
                             if (ec == boost::asio::error::operation_aborted) return;
                             reap();
                           });
}

void UringReader::reap() {
  // Take the completions off the ring before running any callback: a callback
  // usually issues the next read, which touches the ring again.
  std::vector<std::pair<DoneFn, int>> finished;
  io_uring_cqe* cqes[32];
  while (unsigned n = ::io_uring_peek_batch_cqe(&ring_, cqes, 32)) {  // also flushes overflowed completions
    for (unsigned i = 0; i < n; ++i) {
      auto it = ops_.find(cqes[i]->user_data);
      if (it == ops_.end()) continue;
      finished.emplace_back(std::move(it->second), cqes[i]->res);
      ops_.erase(it);
    }
    ::io_uring_cq_advance(&ring_, n);
  }
  if (unsubmitted_ > 0) submit();  // retries a submit that failed for lack of completions
  for (auto& [done, res] : finished) done(res);
  watch();
}

}  // namespace samsa::net
