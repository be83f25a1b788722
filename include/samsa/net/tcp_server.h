#pragma once
// Listens on the configured listeners and owns the live connections.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "samsa/net/connection_limits.h"
#include "samsa/net/frame_handler.h"
#include "samsa/net/request_budget.h"

namespace samsa::net {

class IoContextPool;

// How reply bytes that live in files reach the socket.
enum class FileTransferMode {
  kAuto,      // ranges in the page cache by sendfile(2), the others as kPread (so the disk is read on
              // the blocking-read pool, never on a reactor); cached ranges up to 64 KiB are copied
              // into the reply's gather write instead
  kPread,     // pread into a reused buffer, then write; cached ranges up to 64 KiB are copied
              // into the reply's gather write instead
  kSendfile,  // sendfile(2) of every range, cached or not (a cold one blocks the reactor)
  kIoUring,   // io_uring reads into a reused buffer, then write; pread where io_uring is unavailable
};

struct ConnectionOptions {
  FileTransferMode file_transfer = FileTransferMode::kAuto;
  size_t max_frame_bytes = 104857600;  // socket.request.max.bytes
  int send_buffer_bytes = 102400;      // socket.send.buffer.bytes, -1 = OS default
  int receive_buffer_bytes = 102400;   // socket.receive.buffer.bytes, -1 = OS default
  size_t max_in_flight = 64;           // requests read but not yet answered
  size_t max_queued_reply_bytes = 32u << 20;
};

struct ListenerConfig {
  std::string name;  // e.g. PLAINTEXT
  std::string host;  // empty = all interfaces
  uint16_t port = 0; // 0 = any free port
  FrameHandler* handler = nullptr;
  // Listeners of one group share the max.connections and per-address
  // counts (Kafka: one group per SocketServer, so the controller's
  // connections are counted apart from the broker's).
  int quota_group = 0;
  // Counted, but never made to wait for max.connections (Kafka protects the
  // inter-broker listener so that brokers can always reach each other).
  bool exempt_from_max_connections = false;
};

class TcpServer {
 public:
  TcpServer(IoContextPool& pool, ConnectionOptions options);
  ~TcpServer();
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  // Binds now, so a taken port fails start-up. Returns the bound port.
  // Throws std::runtime_error naming the listener on failure.
  uint16_t listen(const ListenerConfig& listener);
  // Listens and accepts: connections are refused until then.
  void start_accepting();
  void stop_accepting();
  // Asks every connection to finish its in-flight requests and close;
  // waits at most `grace`. Returns the number still open afterwards.
  size_t drain(std::chrono::milliseconds grace);
  size_t connection_count() const;

  // max.connections, max.connections.per.ip(.overrides), connections.max.idle.ms:
  // set before start_accepting() or at any time while running (a raised
  // max.connections lets a waiting acceptor go on within a second).
  ConnectionLimits& limits();
  // queued.max.request.bytes; RequestBudget::set_limit() works while running.
  RequestBudget& request_budget();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace samsa::net
