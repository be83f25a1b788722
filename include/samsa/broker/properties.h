// Reading Kafka-style `server.properties` files.
//
// The syntax follows java.util.Properties, which is what Apache Kafka uses, so
// that a file written for Kafka means the same thing here. Every key remembers
// where it was defined so configuration errors can point at a file and line.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace samsa::broker {

// Where a property came from: a file and 1-based line, or a pseudo-source such
// as "--override" (line 0) for command-line overrides.
struct PropertyOrigin {
  std::string file;
  int line = 0;
};

// The origin name recorded for `--override key=value` arguments.
inline constexpr std::string_view kOverrideOrigin = "--override";

// Human-readable origin for messages: "server.properties line 12", "--override".
std::string describe_origin(const PropertyOrigin& origin);

// Raised for every configuration problem. The message is one line and, when the
// problem concerns a key, names the key, the offending value and its origin.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Properties {
 public:
  // Parses properties text. Accepts everything java.util.Properties accepts;
  // the only failure is a malformed \uXXXX escape, which Java rejects too.
  // Bytes are passed through unchanged (UTF-8 stays UTF-8; Java would read the
  // file as ISO-8859-1, which only matters for non-ASCII values).
  static Properties parse(std::string_view text, std::string file_name);

  // Reads and parses a file; ConfigError naming the path if it cannot be read.
  static Properties load_file(const std::string& path);

  // Adds or replaces a key. A replaced key keeps its position in keys() but
  // takes the new value and origin (later definitions win, as in Java).
  void set(std::string key, std::string value, PropertyOrigin origin);

  // Applies one `--override` argument of the form key=value. Like Kafka, the
  // text is split at the first '=' and both a missing '=' and an empty value
  // are errors.
  void apply_override(std::string_view assignment);

  std::optional<std::string_view> get(std::string_view key) const;
  const PropertyOrigin* origin(std::string_view key) const;
  bool contains(std::string_view key) const { return index_.find(key) != index_.end(); }

  // Keys in order of first definition.
  std::vector<std::string> keys() const;
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    std::string key;
    std::string value;
    PropertyOrigin origin;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace samsa::broker
