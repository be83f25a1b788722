#include "samsa/broker/properties.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

namespace samsa::broker {
namespace {

// java.util.Properties treats only these three as whitespace (not \v, not \r).
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

// One physical line of input without its terminator (\n, \r or \r\n).
struct NaturalLine {
  std::string_view text;
  int number = 0;
};

class LineSource {
 public:
  explicit LineSource(std::string_view text) : text_(text) {}

  bool next(NaturalLine& out) {
    if (pos_ >= text_.size()) return false;
    std::size_t end = text_.find_first_of("\r\n", pos_);
    if (end == std::string_view::npos) end = text_.size();
    out.text = text_.substr(pos_, end - pos_);
    out.number = ++line_;
    pos_ = end;
    if (pos_ < text_.size()) {
      const bool cr = text_[pos_] == '\r';
      ++pos_;
      if (cr && pos_ < text_.size() && text_[pos_] == '\n') ++pos_;  // \r\n is one terminator
    }
    return true;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  int line_ = 0;
};

std::string_view skip_leading_blanks(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_blank(s[i])) ++i;
  return s.substr(i);
}

// A line continues when it ends in an odd number of backslashes; an even
// number is a run of escaped backslashes.
bool ends_with_continuation(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && s[s.size() - 1 - n] == '\\') ++n;
  return n % 2 == 1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads the four hex digits after "\u" at s[i]; returns -1 if malformed.
long read_hex4(std::string_view s, std::size_t i) {
  if (i + 4 > s.size()) return -1;
  long v = 0;
  for (std::size_t k = 0; k < 4; ++k) {
    int h = hex_value(s[i + k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

// Resolves escapes in a key or value. \uXXXX is UTF-16 in Java, so a
// surrogate pair written as two escapes becomes one UTF-8 code point; a lone
// surrogate cannot be expressed in UTF-8 and becomes U+FFFD.
std::string unescape(std::string_view s, const std::string& file, int line) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i == s.size()) break;  // a dangling backslash means nothing
    c = s[i];
    switch (c) {
      case 't': out.push_back('\t'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 'f': out.push_back('\f'); break;
      case 'u': {
        long unit = read_hex4(s, i + 1);
        if (unit < 0) {
          throw ConfigError(fmt::format("Malformed \\uXXXX escape in {} line {}", file, line));
        }
        i += 4;
        std::uint32_t cp = static_cast<std::uint32_t>(unit);
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 2 < s.size() && s[i + 1] == '\\' && s[i + 2] == 'u') {
          long low = read_hex4(s, i + 3);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<std::uint32_t>(low) - 0xDC00);
            i += 6;
          }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
        append_utf8(out, cp);
        break;
      }
      default: out.push_back(c); break;  // \= \: \# \\ and any other char
    }
  }
  return out;
}

// Splits a logical line into raw (still escaped) key and value the way
// java.util.Properties does: the key ends at the first unescaped '=', ':' or
// blank; blanks around the separator and at most one '='/':' after blanks are
// skipped. Trailing blanks stay part of the value.
void split_key_value(std::string_view line, std::string_view& key, std::string_view& value) {
  std::size_t key_len = 0;
  std::size_t value_start = line.size();
  bool has_separator = false;
  bool preceding_backslash = false;
  while (key_len < line.size()) {
    char c = line[key_len];
    if ((c == '=' || c == ':') && !preceding_backslash) {
      value_start = key_len + 1;
      has_separator = true;
      break;
    }
    if (is_blank(c) && !preceding_backslash) {
      value_start = key_len + 1;
      break;
    }
    preceding_backslash = (c == '\\') ? !preceding_backslash : false;
    ++key_len;
  }
  while (value_start < line.size()) {
    char c = line[value_start];
    if (!is_blank(c)) {
      if (!has_separator && (c == '=' || c == ':')) {
        has_separator = true;
      } else {
        break;
      }
    }
    ++value_start;
  }
  key = line.substr(0, key_len);
  value = line.substr(std::min(value_start, line.size()));
}

}  // namespace

std::string describe_origin(const PropertyOrigin& origin) {
  if (origin.line > 0) return fmt::format("{} line {}", origin.file, origin.line);
  return origin.file;
}

Properties Properties::parse(std::string_view text, std::string file_name) {
  Properties props;
  LineSource source(text);
  NaturalLine natural;
  while (source.next(natural)) {
    std::string_view first = skip_leading_blanks(natural.text);
    if (first.empty()) continue;
    // Only the first line of a logical line can be a comment, and a comment
    // never continues onto the next line.
    if (first.front() == '#' || first.front() == '!') continue;

    const int start_line = natural.number;
    std::string logical(first);
    while (ends_with_continuation(logical)) {
      logical.pop_back();
      if (!source.next(natural)) break;  // at end of input the backslash is dropped
      logical.append(skip_leading_blanks(natural.text));
    }

    std::string_view raw_key, raw_value;
    split_key_value(logical, raw_key, raw_value);
    props.set(unescape(raw_key, file_name, start_line), unescape(raw_value, file_name, start_line),
              PropertyOrigin{file_name, start_line});
  }
  return props;
}

Properties Properties::load_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError(fmt::format("Cannot read configuration file '{}': it is a directory", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(fmt::format("Cannot read configuration file '{}': {}", path, std::strerror(errno)));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    throw ConfigError(fmt::format("Cannot read configuration file '{}': read error", path));
  }
  return parse(buffer.str(), path);
}

void Properties::set(std::string key, std::string value, PropertyOrigin origin) {
  auto it = index_.find(key);
  if (it != index_.end()) {
    Entry& e = entries_[it->second];
    e.value = std::move(value);
    e.origin = std::move(origin);
    return;
  }
  index_.emplace(key, entries_.size());
  entries_.push_back(Entry{std::move(key), std::move(value), std::move(origin)});
}

void Properties::apply_override(std::string_view assignment) {
  std::size_t eq = assignment.find('=');
  if (eq == std::string_view::npos) {
    throw ConfigError(fmt::format("Invalid --override '{}': expected key=value", assignment));
  }
  std::string_view key = assignment.substr(0, eq);
  std::string_view value = assignment.substr(eq + 1);
  if (key.empty()) {
    throw ConfigError(fmt::format("Invalid --override '{}': the key is empty", assignment));
  }
  if (value.empty()) {
    throw ConfigError(fmt::format("Invalid --override '{}': missing value for key {}", assignment, key));
  }
  set(std::string(key), std::string(value), PropertyOrigin{std::string(kOverrideOrigin), 0});
}

std::optional<std::string_view> Properties::get(std::string_view key) const {
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  return std::string_view(entries_[it->second].value);
}

const PropertyOrigin* Properties::origin(std::string_view key) const {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  return &entries_[it->second].origin;
}

std::vector<std::string> Properties::keys() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) out.push_back(e.key);
  return out;
}

}  // namespace samsa::broker
