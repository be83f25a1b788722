// Parsing of listener lists, the listener → security protocol map and the
// controller quorum address lists, following Kafka's formats and checks.
#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "config_internal.h"

namespace samsa::broker::detail {
namespace {

// Characters Kafka's host patterns accept (hostnames, IPv4, IPv6, zone ids).
bool is_host_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '%' ||
         c == '.' || c == '_' || c == ':';
}

bool valid_host_chars(std::string_view host) { return std::all_of(host.begin(), host.end(), is_host_char); }

bool is_ipv4_literal(const std::string& host) {
  in_addr addr{};
  return inet_pton(AF_INET, host.c_str(), &addr) == 1;
}

bool is_ipv6_literal(const std::string& host) {
  in6_addr addr{};
  std::string bare = host.substr(0, host.find('%'));  // drop a zone id such as %eth0
  return inet_pton(AF_INET6, bare.c_str(), &addr) == 1;
}

// Parses "[host]:port" / "host:port" the way Kafka's host/port patterns do:
// the port follows the last ':' and brackets around the host are optional.
// Returns false when the shape is wrong; `port_text` is left for the caller.
bool split_host_port(std::string_view text, std::string& host, std::string& port_text, bool allow_negative) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view h = text.substr(0, colon);
  std::string_view p = text.substr(colon + 1);
  if (!h.empty() && h.front() == '[') h.remove_prefix(1);
  if (!h.empty() && h.back() == ']') h.remove_suffix(1);
  if (!valid_host_chars(h)) return false;
  std::string_view digits = p;
  if (allow_negative && !digits.empty() && digits.front() == '-') digits.remove_prefix(1);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  host.assign(h);
  port_text.assign(p);
  return true;
}

// Ports beyond 0..65535 parse in Kafka but fail when bound or connected; we
// reject them up front.
std::optional<std::uint16_t> to_port(const std::string& text) {
  if (text.empty() || text.front() == '-') return std::nullopt;
  long v = 0;
  for (char c : text) {
    v = v * 10 + (c - '0');
    if (v > 65535) return std::nullopt;
  }
  return static_cast<std::uint16_t>(v);
}

}  // namespace

std::map<std::string, std::string> parse_protocol_map(const ConfigReader& reader, std::string_view key,
                                                      std::string_view value) {
  std::map<std::string, std::string> out;
  std::string t = trim(value);
  if (t.empty()) return out;
  for (const std::string& entry : split_list(t)) {
    std::size_t colon = entry.rfind(':');
    if (colon == std::string::npos) {
      reader.fail(key, value, fmt::format("entry '{}' is not of the form LISTENER_NAME:PROTOCOL", entry));
    }
    std::string name = to_upper(trim(std::string_view(entry).substr(0, colon)));
    std::string protocol = to_upper(trim(std::string_view(entry).substr(colon + 1)));
    if (!is_security_protocol(protocol)) {
      reader.fail(key, value,
                  fmt::format("unknown security protocol '{}' (expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)",
                              trim(std::string_view(entry).substr(colon + 1))));
    }
    out.insert_or_assign(std::move(name), std::move(protocol));
  }
  return out;
}

std::vector<std::string> listener_names_in(std::string_view listeners_value) {
  std::vector<std::string> names;
  for (const std::string& entry : split_list(listeners_value)) {
    if (entry.empty()) continue;
    std::size_t colon = entry.find(':');
    if (colon != std::string::npos) names.push_back(to_upper(std::string_view(entry).substr(0, colon)));
  }
  return names;
}

std::vector<Listener> parse_listeners(const ConfigReader& reader, std::string_view key, std::string_view value,
                                      const std::map<std::string, std::string>& protocol_map,
                                      bool require_distinct_ports) {
  std::vector<Listener> out;
  for (const std::string& entry : split_list(value)) {
    if (entry.empty()) continue;  // Kafka skips empty entries in listener lists
    std::size_t scheme = entry.find("://");
    std::string host, port_text;
    if (scheme == std::string::npos ||
        !split_host_port(std::string_view(entry).substr(scheme + 3), host, port_text, true)) {
      reader.fail(key, value, fmt::format("cannot parse listener '{}' (expected NAME://host:port)", entry));
    }
    std::optional<std::uint16_t> port = to_port(port_text);
    if (!port) reader.fail(key, value, fmt::format("listener '{}' has port {} outside 0-65535", entry, port_text));
    Listener l;
    l.name = to_upper(std::string_view(entry).substr(0, scheme));
    l.host = std::move(host);
    l.port = *port;
    auto protocol = protocol_map.find(l.name);
    if (protocol == protocol_map.end()) {
      reader.fail(key, value,
                  fmt::format("no security protocol defined for listener {} in listener.security.protocol.map",
                              l.name));
    }
    l.security_protocol = protocol->second;
    out.push_back(std::move(l));
  }

  std::set<std::string> names;
  for (const Listener& l : out) {
    if (!names.insert(l.name).second) {
      reader.fail(key, value, fmt::format("listener name {} is used more than once", l.name));
    }
  }
  if (!require_distinct_ports) return out;

  // Kafka allows two listeners on one port only when exactly one binds an
  // IPv4 literal and the other an IPv6 literal. Port 0 (ephemeral) is exempt.
  std::map<std::uint16_t, std::vector<const Listener*>> by_port;
  for (const Listener& l : out) {
    if (l.port != 0) by_port[l.port].push_back(&l);
  }
  for (const auto& [port, group] : by_port) {
    if (group.size() < 2) continue;
    bool ok = group.size() == 2 &&
              ((is_ipv4_literal(group[0]->host) && is_ipv6_literal(group[1]->host)) ||
               (is_ipv6_literal(group[0]->host) && is_ipv4_literal(group[1]->host)));
    if (!ok) {
      reader.fail(key, value,
                  fmt::format("port {} is used by more than one listener (only allowed for one IPv4 and one IPv6 "
                              "address)",
                              port));
    }
  }
  return out;
}

std::vector<QuorumVoter> parse_voters(const ConfigReader& reader, const std::vector<std::string>& entries) {
  constexpr std::string_view key = "controller.quorum.voters";
  const std::string value = reader.raw(key).value_or("");
  std::vector<QuorumVoter> out;
  for (const std::string& entry : entries) {
    const std::string expected = fmt::format("entry '{}' is not of the form id@host:port", entry);
    std::size_t at = entry.find('@');
    if (at == std::string::npos || entry.find('@', at + 1) != std::string::npos) reader.fail(key, value, expected);
    std::string id_text = entry.substr(0, at);
    std::string host, port_text;
    if (!split_host_port(std::string_view(entry).substr(at + 1), host, port_text, false)) {
      reader.fail(key, value, expected);
    }
    std::optional<std::int64_t> id;
    try {
      std::size_t used = 0;
      long long v = std::stoll(id_text, &used);
      if (used == id_text.size() && v >= INT32_MIN && v <= INT32_MAX) id = v;
    } catch (const std::exception&) {
    }
    if (!id) reader.fail(key, value, fmt::format("entry '{}' does not start with a numeric node id", entry));
    // An empty host cannot be connected to; 0.0.0.0 is refused by Kafka's
    // raft client as non-routable.
    if (host.empty() || host == "0.0.0.0") {
      reader.fail(key, value, fmt::format("entry '{}' needs a routable host", entry));
    }
    std::optional<std::uint16_t> port = to_port(port_text);
    if (!port) reader.fail(key, value, fmt::format("entry '{}' has port {} outside 0-65535", entry, port_text));
    QuorumVoter voter{static_cast<std::int32_t>(*id), std::move(host), *port};
    // Like Kafka, a repeated id replaces the earlier address.
    auto same = std::find_if(out.begin(), out.end(), [&](const QuorumVoter& v) { return v.id == voter.id; });
    if (same != out.end()) {
      *same = std::move(voter);
    } else {
      out.push_back(std::move(voter));
    }
  }
  return out;
}

std::vector<HostPort> parse_bootstrap_servers(const ConfigReader& reader, const std::vector<std::string>& entries) {
  constexpr std::string_view key = "controller.quorum.bootstrap.servers";
  const std::string value = reader.raw(key).value_or("");
  std::vector<HostPort> out;
  for (const std::string& entry : entries) {
    std::string host, port_text;
    // Kafka's pattern also tolerates a leading "scheme://".
    std::string_view rest = entry;
    if (std::size_t scheme = rest.find("://"); scheme != std::string_view::npos) rest.remove_prefix(scheme + 3);
    if (!split_host_port(rest, host, port_text, false) || host.empty()) {
      reader.fail(key, value, fmt::format("entry '{}' is not of the form host:port", entry));
    }
    std::optional<std::uint16_t> port = to_port(port_text);
    if (!port) reader.fail(key, value, fmt::format("entry '{}' has port {} outside 0-65535", entry, port_text));
    out.push_back(HostPort{std::move(host), *port});
  }
  return out;
}

}  // namespace samsa::broker::detail
