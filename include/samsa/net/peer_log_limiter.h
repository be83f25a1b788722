#pragma once
// Summarises floods of log lines about bad input. Per peer address (not per
// connection: a flood is usually many connections), the first line of each
// window is logged; the rest are counted and reported as one line, "N more
// ... suppressed in the last T s", when the window ends. Kafka logs each bad
// request; 2,000 garbage frames should not mean 2,000 lines.
//
// Thread-safe. One process-wide instance serves the network layer and the
// request dispatcher: bad_input_log().
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <spdlog/logger.h>

namespace samsa::net {

class PeerLogLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit PeerLogLimiter(std::chrono::milliseconds window = std::chrono::seconds(10), size_t max_peers = 4096);

  // Logs `message` at `level` on `log` unless a line about `peer` ("host" or
  // "host:port") was already logged in the current window.
  void log(const std::shared_ptr<spdlog::logger>& log, spdlog::level::level_enum level, std::string_view peer,
           const std::string& message, Clock::time_point now = Clock::now());
  // Logs the summaries of windows that ended; called periodically.
  void flush(Clock::time_point now = Clock::now());

  size_t tracked_peers() const;

 private:
  struct Entry {
    Clock::time_point window_start;
    uint64_t suppressed = 0;
    std::shared_ptr<spdlog::logger> log;
    spdlog::level::level_enum level = spdlog::level::warn;
  };
  void summarise(const std::string& peer, const Entry& e, Clock::time_point now);

  const std::chrono::milliseconds window_;
  const size_t max_peers_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> peers_;
};

// The address part of "host:port" (IPv6 addresses keep their colons).
std::string_view peer_host(std::string_view peer);

PeerLogLimiter& bad_input_log();

}  // namespace samsa::net
