#pragma once
// One client connection: reads size-prefixed frames, hands them to the
// FrameHandler, and writes the replies back in request order with gather
// writes. Clients may pipeline; reading pauses (TCP pushes back on the
// client) while too many requests are in flight, too many reply bytes wait,
// or the broker-wide request budget is spent.
//
// Memory: an idle connection holds no read buffer. Reads go into a reused
// per-reactor buffer and are cut into frames there; only the partial frame
// at its end is kept, in a FrameAssembler that grows as bytes arrive.
// All state is touched only on the connection's io_context thread, except
// last_active_ms(), which the idle sweeper reads from another.
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "frame_assembler.h"
#include "samsa/net/frame_handler.h"
#include "samsa/net/tcp_server.h"

namespace samsa::net {

class UringReader;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using ClosedFn = std::function<void(uint64_t id)>;

  Connection(boost::asio::io_context& ioc, boost::asio::ip::tcp::socket socket, FrameHandler& handler, ConnectionInfo info,
             const ConnectionOptions& options, std::shared_ptr<RequestBudget> budget, ClosedFn on_closed);

  void start();
  boost::asio::io_context::executor_type executor() { return ioc_.get_executor(); }
  // Graceful stop: read no more requests, write the replies still owed, close.
  // Safe to call from any thread.
  void shutdown();
  // Closes the connection if it has had no traffic since `cutoff_ms` (a
  // steady-clock millisecond count) and owes no reply. Any thread.
  void close_if_idle(int64_t cutoff_ms);
  int64_t last_active_ms() const { return last_active_ms_.load(std::memory_order_relaxed); }
  static int64_t now_ms();

 private:
  struct Slot {
    bool ready = false;
    Reply reply;
  };

  void read_more();
  void read_turn();
  void wait_readable();
  void on_read_error(const boost::system::error_code& ec);
  bool process(const uint8_t* data, size_t n);
  bool handle_status(FrameAssembler::Status status);
  void wait_for_budget();
  void stash(const uint8_t* data, size_t n);
  bool should_pause() const;
  void touch();
  void dispatch(FramePtr frame);
  void complete(uint64_t seq, Reply reply);
  void flush();
  void write_next();
  void write_file_part();
  void pread_file_part();
  bool uring_file_part();
  void on_file_chunk_read(ssize_t n, int err);
  bool sendfile_cached_part();
  void sendfile_file_part();
  void sendfile_until_end();
  void inline_small_file_parts();
  void on_written(const boost::system::error_code& ec, size_t slots);
  void maybe_resume();
  void close(const char* reason);

  boost::asio::io_context& ioc_;  // the reactor this connection lives on
  boost::asio::ip::tcp::socket socket_;
  FrameHandler& handler_;
  ConnectionInfo info_;
  const ConnectionOptions options_;
  ClosedFn on_closed_;

  FrameAssembler assembler_;
  std::shared_ptr<RequestBudget> budget_;
  // Bytes read past a frame when reading had to pause; processed first on resume.
  std::vector<uint8_t> stash_;
  size_t stash_pos_ = 0;
  std::atomic<int64_t> last_active_ms_;

  std::deque<Slot> pending_;  // one per request not yet written, in request order
  uint64_t first_seq_ = 0;    // sequence number of pending_.front()
  uint64_t next_seq_ = 0;
  size_t queued_bytes_ = 0;   // bytes of ready replies not yet written
  // What the write in progress covers: memory pieces of the replies being
  // written and, between them, the file ranges they splice in.
  struct Part {
    const uint8_t* data = nullptr;
    size_t length = 0;
    const util::FileRange* file = nullptr;  // set for file parts
  };
  std::vector<Part> parts_;
  size_t part_index_ = 0;
  size_t file_done_ = 0;  // bytes of the current file part already sent
  size_t file_send_end_ = 0;  // sendfile: bytes of the current file part to send before looking again
  size_t write_slots_ = 0;
  // pread/io_uring transfer: one chunk of a file part. Uninitialised, and
  // given back when no reply is owed, so idle consumers hold no megabyte.
  std::unique_ptr<uint8_t[]> file_buf_;
  size_t file_buf_size_ = 0;
  uint8_t* file_buffer(size_t bytes);
  // Small cached file ranges copied for the gather write (inline_small_file_parts).
  std::unique_ptr<uint8_t[]> inline_buf_;
  size_t inline_buf_size_ = 0;
  UringReader* uring_ = nullptr;   // this reactor's ring (io_uring transfer), looked up on first use
  std::vector<boost::asio::const_buffer> write_bufs_;

  bool writing_ = false;
  bool read_paused_ = false;  // by in-flight limits; maybe_resume() restarts reading
  bool budget_wait_ = false;  // by the request budget; its wake-up restarts reading
  bool waiting_readable_ = false;
  bool in_read_ = false;  // in a read turn: replies are corked until its end (read_more)
  bool closing_ = false;
  bool closed_ = false;
};

}  // namespace samsa::net
