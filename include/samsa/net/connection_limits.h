#pragma once
// Connection limits as Kafka's ConnectionQuotas applies them, changeable while
// the broker runs (dynamic broker configs call the setters):
// - max.connections: broker-wide; at the limit the acceptor stops accepting
//   until a connection closes (the backlog holds the rest).
// - max.connections.per.ip (+ .overrides "host:count,host:count"): a
//   connection beyond its address's limit is closed right after accept.
// - connections.max.idle.ms: connections with no traffic and no request in
//   flight for that long are closed.
// Thread-safe: readers are the acceptor and the idle sweeper.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace samsa::net {

// Parses max.connections.per.ip.overrides: comma-separated "host:count",
// host an IP address or a name (resolved now to all its addresses), count
// >= 0. An empty string is no overrides. Returns the error text on failure.
struct IpOverrides {
  std::map<std::string, int32_t> by_address;  // canonical address text -> limit
};
std::optional<IpOverrides> parse_ip_overrides(std::string_view text, std::string* error);

class ConnectionLimits {
 public:
  static constexpr int32_t kUnlimited = 2147483647;  // Kafka's default for both counts

  void set_max_connections(int32_t n) { max_connections_.store(n, std::memory_order_relaxed); }
  void set_max_connections_per_ip(int32_t n) { max_per_ip_.store(n, std::memory_order_relaxed); }
  // Returns false (and keeps the old overrides) when `text` does not parse.
  bool set_max_connections_per_ip_overrides(std::string_view text, std::string* error = nullptr);
  // <= 0 disables the idle timeout.
  void set_connections_max_idle_ms(int64_t ms) { idle_ms_.store(ms, std::memory_order_relaxed); }

  int32_t max_connections() const { return max_connections_.load(std::memory_order_relaxed); }
  int32_t max_connections_per_ip() const { return max_per_ip_.load(std::memory_order_relaxed); }
  int64_t connections_max_idle_ms() const { return idle_ms_.load(std::memory_order_relaxed); }
  // The limit for one address ("127.0.0.1", "::1"): its override, else the default.
  int32_t limit_for(const std::string& address) const;

 private:
  std::atomic<int32_t> max_connections_{kUnlimited};
  std::atomic<int32_t> max_per_ip_{kUnlimited};
  std::atomic<int64_t> idle_ms_{600000};
  mutable std::mutex mu_;
  std::shared_ptr<const IpOverrides> overrides_ = std::make_shared<IpOverrides>();
};

}  // namespace samsa::net
