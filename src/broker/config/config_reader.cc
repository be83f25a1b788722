// Typed, validated access to configuration values (Kafka ConfigDef rules).
#include <algorithm>
#include <cctype>
#include <limits>

#include <fmt/format.h>

#include "config_internal.h"

namespace samsa::broker::detail {
namespace {

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Java's Long.parseLong: optional sign, then ASCII digits only.
std::optional<std::int64_t> parse_java_long(std::string_view s) {
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  if (i == s.size()) return std::nullopt;
  // Accumulate as a negative number so that Long.MIN_VALUE fits.
  std::int64_t value = 0;
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    int digit = s[i] - '0';
    if (value < kMin / 10 || value * 10 < kMin + digit) return std::nullopt;
    value = value * 10 - digit;
  }
  if (!negative) {
    if (value == kMin) return std::nullopt;
    value = -value;
  }
  return value;
}

}  // namespace

std::string trim(std::string_view s) {
  // Java's String.trim() drops every char <= ' '.
  std::size_t b = 0, e = s.size();
  while (b < e && static_cast<unsigned char>(s[b]) <= ' ') ++b;
  while (e > b && static_cast<unsigned char>(s[e - 1]) <= ' ') --e;
  return std::string(s.substr(b, e - b));
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> split_list(std::string_view value) {
  std::string t = trim(value);
  std::vector<std::string> out;
  if (t.empty()) return out;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = t.find(',', start);
    out.push_back(trim(std::string_view(t).substr(start, comma == std::string::npos ? std::string::npos
                                                                                   : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out.append(sep);
    out.append(items[i]);
  }
  return out;
}

bool is_security_protocol(std::string_view name) {
  return name == "PLAINTEXT" || name == "SSL" || name == "SASL_PLAINTEXT" || name == "SASL_SSL";
}

void ConfigReader::set_env(std::string key, std::string value, std::string origin_text) {
  env_.insert_or_assign(std::move(key), EnvValue{std::move(value), std::move(origin_text)});
}

bool ConfigReader::is_set(std::string_view key) const {
  return env_.find(key) != env_.end() || props_.contains(key);
}

std::string ConfigReader::origin_text(std::string_view key) const {
  if (auto it = env_.find(key); it != env_.end()) return it->second.origin;
  if (const PropertyOrigin* o = props_.origin(key)) return describe_origin(*o);
  return "default";
}

std::optional<std::string> ConfigReader::raw(std::string_view key) const {
  if (auto it = env_.find(key); it != env_.end()) return it->second.value;
  if (auto v = props_.get(key)) return std::string(*v);
  const ConfigKey& def = key_def(key);
  if (def.dynamic_default) return def.dynamic_default();
  if (def.default_value) return std::string(def.default_value);
  return std::nullopt;
}

const ConfigKey& ConfigReader::key_def(std::string_view key) const {
  const ConfigKey* def = find_config_key(key);
  // Reading a key missing from the table is a programming error; report it
  // loudly rather than inventing a default.
  if (!def) throw ConfigError(fmt::format("internal error: configuration {} is not defined", key));
  return *def;
}

void ConfigReader::fail(std::string_view key, std::string_view value, std::string_view reason) const {
  throw ConfigError(
      fmt::format("Invalid value '{}' for configuration {} ({}): {}", value, key, origin_text(key), reason));
}

void ConfigReader::fail(std::string_view key, std::string_view reason) const {
  std::optional<std::string> value = raw(key);
  if (!value) {
    throw ConfigError(fmt::format("Missing value for configuration {} ({}): {}", key, origin_text(key), reason));
  }
  fail(key, *value, reason);
}

std::optional<std::int64_t> ConfigReader::parse_integer(const ConfigKey& key,
                                                        const std::optional<std::string>& value) const {
  if (!value) return std::nullopt;
  std::optional<std::int64_t> n = parse_java_long(trim(*value));
  std::int64_t lo = std::numeric_limits<std::int64_t>::min();
  std::int64_t hi = std::numeric_limits<std::int64_t>::max();
  if (key.type == ConfigType::Int) {
    lo = std::numeric_limits<std::int32_t>::min();
    hi = std::numeric_limits<std::int32_t>::max();
  } else if (key.type == ConfigType::Short) {
    lo = std::numeric_limits<std::int16_t>::min();
    hi = std::numeric_limits<std::int16_t>::max();
  }
  if (!n || *n < lo || *n > hi) fail(key.name, *value, fmt::format("not a number of type {}", to_string(key.type)));
  if (key.min && key.max && (*n < *key.min || *n > *key.max)) {
    fail(key.name, *value, fmt::format("must be between {} and {}", *key.min, *key.max));
  }
  if (key.min && *n < *key.min) fail(key.name, *value, fmt::format("must be at least {}", *key.min));
  if (key.max && *n > *key.max) fail(key.name, *value, fmt::format("must be at most {}", *key.max));
  return n;
}

void ConfigReader::check_allowed(const ConfigKey& key, std::string_view item, std::string_view whole) const {
  if (key.allowed.empty()) return;
  bool ok = std::any_of(key.allowed.begin(), key.allowed.end(), [&](std::string_view a) {
    return key.ignore_case ? equals_ignore_case(a, item) : a == item;
  });
  if (ok) return;
  std::vector<std::string> names(key.allowed.begin(), key.allowed.end());
  if (key.type == ConfigType::List) {
    fail(key.name, whole, fmt::format("'{}' is not one of: {}", item, join(names, ", ")));
  }
  fail(key.name, whole, fmt::format("must be one of: {}", join(names, ", ")));
}

void ConfigReader::check(const ConfigKey& key) const {
  switch (key.type) {
    case ConfigType::Boolean: get_bool(key.name); break;
    case ConfigType::Int:
    case ConfigType::Short:
    case ConfigType::Long: parse_integer(key, raw(key.name)); break;
    case ConfigType::String: get_string(key.name); break;
    case ConfigType::List: get_list(key.name); break;
  }
}

bool ConfigReader::get_bool(std::string_view name) const {
  std::optional<std::string> value = raw(name);
  std::string t = value ? trim(*value) : std::string();
  if (equals_ignore_case(t, "true")) return true;
  if (equals_ignore_case(t, "false")) return false;
  fail(name, value.value_or(""), "expected true or false");
}

std::int16_t ConfigReader::get_short(std::string_view name) const {
  return static_cast<std::int16_t>(get_long(name));
}

std::int32_t ConfigReader::get_int(std::string_view name) const {
  return static_cast<std::int32_t>(get_long(name));
}

std::int64_t ConfigReader::get_long(std::string_view name) const {
  std::optional<std::int64_t> n = get_optional_long(name);
  if (!n) fail(name, "a value is required");
  return *n;
}

std::optional<std::int32_t> ConfigReader::get_optional_int(std::string_view name) const {
  std::optional<std::int64_t> n = get_optional_long(name);
  if (!n) return std::nullopt;
  return static_cast<std::int32_t>(*n);
}

std::optional<std::int64_t> ConfigReader::get_optional_long(std::string_view name) const {
  return parse_integer(key_def(name), raw(name));
}

std::optional<std::string> ConfigReader::get_string(std::string_view name) const {
  std::optional<std::string> value = raw(name);
  if (!value) return std::nullopt;
  std::string t = trim(*value);
  check_allowed(key_def(name), t, *value);
  return t;
}

std::vector<std::string> ConfigReader::get_list(std::string_view name) const {
  std::optional<std::string> value = raw(name);
  if (!value) return {};
  std::vector<std::string> items = split_list(*value);
  const ConfigKey& def = key_def(name);
  for (const std::string& item : items) check_allowed(def, item, *value);
  return items;
}

}  // namespace samsa::broker::detail
