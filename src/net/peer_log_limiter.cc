#include "samsa/net/peer_log_limiter.h"

#include <vector>

namespace samsa::net {

std::string_view peer_host(std::string_view peer) {
  size_t colon = peer.rfind(':');
  if (colon == std::string_view::npos) return peer;
  // "a.b.c.d:port" or "::1:port" as the acceptor formats them: the port
  // follows the last colon when something precedes it.
  std::string_view host = peer.substr(0, colon);
  return host.empty() ? peer : host;
}

PeerLogLimiter::PeerLogLimiter(std::chrono::milliseconds window, size_t max_peers)
    : window_(window), max_peers_(max_peers) {}

void PeerLogLimiter::log(const std::shared_ptr<spdlog::logger>& log, spdlog::level::level_enum level,
                         std::string_view peer, const std::string& message, Clock::time_point now) {
  std::string key(peer_host(peer));
  {
    std::lock_guard lock(mu_);
    // Floods from very many addresses share one entry rather than growing the map.
    if (peers_.size() >= max_peers_ && !peers_.count(key)) key = "many addresses";
    auto [it, fresh] = peers_.try_emplace(key);
    Entry& e = it->second;
    if (!fresh && now - e.window_start < window_) {
      ++e.suppressed;
      e.log = log;
      e.level = level;
      return;
    }
    if (!fresh && e.suppressed > 0) summarise(key, e, now);
    e.window_start = now;
    e.suppressed = 0;
    e.log = log;
    e.level = level;
  }
  log->log(level, message);
}

void PeerLogLimiter::flush(Clock::time_point now) {
  std::lock_guard lock(mu_);
  for (auto it = peers_.begin(); it != peers_.end();) {
    if (now - it->second.window_start < window_) {
      ++it;
      continue;
    }
    if (it->second.suppressed > 0) summarise(it->first, it->second, now);
    it = peers_.erase(it);  // a quiet peer's next line starts a new window
  }
}

void PeerLogLimiter::summarise(const std::string& peer, const Entry& e, Clock::time_point now) {
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(now - e.window_start).count();
  e.log->log(e.level, "{} more lines like the last one about {} suppressed in the last {} s", e.suppressed, peer,
             secs);
}

size_t PeerLogLimiter::tracked_peers() const {
  std::lock_guard lock(mu_);
  return peers_.size();
}

PeerLogLimiter& bad_input_log() {
  static PeerLogLimiter limiter;
  return limiter;
}

}  // namespace samsa::net
