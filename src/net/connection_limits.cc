#include "samsa/net/connection_limits.h"

#include <netdb.h>
#include <sys/socket.h>

#include <charconv>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

namespace samsa::net {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A host's addresses as the acceptor prints peers: an IP literal as itself
// (canonical form), a name through the resolver.
bool addresses_of(const std::string& host, std::vector<std::string>& out) {
  boost::system::error_code ec;
  auto literal = boost::asio::ip::make_address(host, ec);
  if (!ec) {
    out.push_back(literal.to_string());
    return true;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return false;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    char buf[NI_MAXHOST];
    if (::getnameinfo(a->ai_addr, a->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) == 0) {
      auto addr = boost::asio::ip::make_address(buf, ec);
      if (!ec) out.push_back(addr.to_string());
    }
  }
  ::freeaddrinfo(res);
  return !out.empty();
}

}  // namespace

std::optional<IpOverrides> parse_ip_overrides(std::string_view text, std::string* error) {
  IpOverrides result;
  auto fail = [&](std::string why) -> std::optional<IpOverrides> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  text = trim(text);
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view entry = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (entry.empty()) continue;
    size_t colon = entry.rfind(':');  // the count follows the last colon, so IPv6 hosts work
    if (colon == std::string_view::npos || colon == 0)
      return fail(fmt::format("'{}' is not of the form host:count", entry));
    std::string host(trim(entry.substr(0, colon)));
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    std::string_view count_text = trim(entry.substr(colon + 1));
    int32_t count = 0;
    auto [end, ec] = std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
    if (ec != std::errc() || end != count_text.data() + count_text.size() || count < 0)
      return fail(fmt::format("'{}' has an invalid connection count", entry));
    std::vector<std::string> addresses;
    if (!addresses_of(host, addresses)) return fail(fmt::format("host '{}' does not resolve", host));
    for (auto& a : addresses) result.by_address[a] = count;
  }
  return result;
}

bool ConnectionLimits::set_max_connections_per_ip_overrides(std::string_view text, std::string* error) {
  auto parsed = parse_ip_overrides(text, error);
  if (!parsed) return false;
  auto fresh = std::make_shared<const IpOverrides>(std::move(*parsed));
  std::lock_guard lock(mu_);
  overrides_ = std::move(fresh);
  return true;
}

int32_t ConnectionLimits::limit_for(const std::string& address) const {
  std::shared_ptr<const IpOverrides> overrides;
  {
    std::lock_guard lock(mu_);
    overrides = overrides_;
  }
  auto it = overrides->by_address.find(address);
  return it != overrides->by_address.end() ? it->second : max_connections_per_ip();
}

}  // namespace samsa::net
