#include "samsa/broker/connection_reconfigurable.h"

#include <charconv>

#include <fmt/format.h>

#include "samsa/net/connection_limits.h"

namespace samsa::broker {
namespace {

constexpr const char* kMaxConnections = "max.connections";
constexpr const char* kMaxPerIp = "max.connections.per.ip";
constexpr const char* kOverrides = "max.connections.per.ip.overrides";

std::optional<int32_t> parse_count(std::string_view text) {
  int32_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 0) return std::nullopt;
  return n;
}

std::optional<std::string> validate(std::string_view key, std::string_view value) {
  if (key == kOverrides) {
    std::string error;
    if (!net::parse_ip_overrides(value, &error)) return fmt::format("Invalid value {} for {}: {}", value, key, error);
    return std::nullopt;
  }
  if (!parse_count(value)) return fmt::format("Invalid value {} for {}: must be an integer >= 0", value, key);
  return std::nullopt;
}

}  // namespace

std::shared_ptr<Reconfigurable> make_connection_limits_reconfigurable(net::ConnectionLimits& limits) {
  auto reconfigure = [&limits](const EffectiveValues& values) {
    // Values reached here were validated (statically at start-up, or by
    // validate() before AlterConfigs stored them); null means the default.
    auto count = [&](const char* key) {
      auto it = values.find(key);
      if (it == values.end() || !it->second) return net::ConnectionLimits::kUnlimited;
      return parse_count(*it->second).value_or(net::ConnectionLimits::kUnlimited);
    };
    limits.set_max_connections(count(kMaxConnections));
    limits.set_max_connections_per_ip(count(kMaxPerIp));
    auto it = values.find(kOverrides);
    limits.set_max_connections_per_ip_overrides(it != values.end() && it->second ? *it->second : "");
  };
  return make_reconfigurable({kMaxConnections, kMaxPerIp, kOverrides}, std::move(reconfigure), validate);
}

}  // namespace samsa::broker
