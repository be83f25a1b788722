// Internal helpers shared by the broker configuration sources.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/properties.h"

namespace samsa::broker::detail {

inline constexpr std::string_view kLogLevelEnv = "SAMSA_LOG_LEVEL";

// Reads typed values for known keys: the explicit value if present (file,
// --override or environment), else the key's default; validates type, range
// and allowed values exactly once per read. Errors name key, value and origin.
class ConfigReader {
 public:
  explicit ConfigReader(const Properties& props) : props_(props) {}

  // An explicit value from the environment that wins over the properties.
  void set_env(std::string key, std::string value, std::string origin_text);

  bool is_set(std::string_view key) const;
  // Where an explicit value came from, or "default".
  std::string origin_text(std::string_view key) const;
  // Explicit value, else default (dynamic default included); nullopt = null.
  std::optional<std::string> raw(std::string_view key) const;

  // Parses and validates a key; used to check keys no field reads directly.
  void check(const ConfigKey& key) const;

  bool get_bool(std::string_view key) const;
  std::int16_t get_short(std::string_view key) const;
  std::int32_t get_int(std::string_view key) const;
  std::int64_t get_long(std::string_view key) const;
  // For keys whose Kafka default is null.
  std::optional<std::int32_t> get_optional_int(std::string_view key) const;
  std::optional<std::int64_t> get_optional_long(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;  // trimmed
  std::vector<std::string> get_list(std::string_view key) const;

  [[noreturn]] void fail(std::string_view key, std::string_view value, std::string_view reason) const;
  [[noreturn]] void fail(std::string_view key, std::string_view reason) const;  // uses the current value

 private:
  const ConfigKey& key_def(std::string_view key) const;
  std::optional<std::int64_t> parse_integer(const ConfigKey& key, const std::optional<std::string>& value) const;
  void check_allowed(const ConfigKey& key, std::string_view item, std::string_view whole) const;

  const Properties& props_;
  struct EnvValue {
    std::string value;
    std::string origin;
  };
  std::map<std::string, EnvValue, std::less<>> env_;
};

std::string trim(std::string_view s);
std::string to_upper(std::string_view s);
// Kafka's LIST parsing: trimmed, split at commas with surrounding whitespace;
// an empty string is an empty list, but empty items in between are kept.
std::vector<std::string> split_list(std::string_view value);
std::string join(const std::vector<std::string>& items, std::string_view sep);

bool is_security_protocol(std::string_view name);

// listener.security.protocol.map → {LISTENER_NAME: PROTOCOL}.
std::map<std::string, std::string> parse_protocol_map(const ConfigReader& reader, std::string_view key,
                                                      std::string_view value);

// `NAME://host:port,...` as Kafka's listeners/advertised.listeners.
std::vector<Listener> parse_listeners(const ConfigReader& reader, std::string_view key, std::string_view value,
                                      const std::map<std::string, std::string>& protocol_map,
                                      bool require_distinct_ports);

// The upper-cased name before the first ':' of each listener entry; used
// before the protocol map is known, as Kafka does.
std::vector<std::string> listener_names_in(std::string_view listeners_value);

std::vector<QuorumVoter> parse_voters(const ConfigReader& reader, const std::vector<std::string>& entries);
std::vector<HostPort> parse_bootstrap_servers(const ConfigReader& reader, const std::vector<std::string>& entries);

// Cross-key checks (broker_config_validate.cc); throws ConfigError.
void validate_broker_config(const BrokerConfig& c, const ConfigReader& r);

}  // namespace samsa::broker::detail
