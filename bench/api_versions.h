// ApiVersions v0 request/response, just enough for the benchmark tools to
// check up front that the broker offers the APIs they need (librdkafka would
// otherwise hold records until message.timeout.ms when Produce is missing).
// Pure functions, unit-tested in bench/latency_histogram_test.cc.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace samsa::bench {

struct ApiRange {
  int16_t min = -1, max = -1;
};

// Size-prefixed ApiVersions v0 request (request header v1).
inline std::vector<uint8_t> encode_api_versions_request(int32_t correlation_id,
                                                        const std::string& client_id) {
  std::vector<uint8_t> b;
  auto put16 = [&](uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
  };
  auto put32 = [&](uint32_t v) {
    put16(static_cast<uint16_t>(v >> 16));
    put16(static_cast<uint16_t>(v));
  };
  put32(0);  // size, patched below
  put16(18);  // ApiVersions
  put16(0);   // version 0
  put32(static_cast<uint32_t>(correlation_id));
  put16(static_cast<uint16_t>(client_id.size()));
  b.insert(b.end(), client_id.begin(), client_id.end());
  const auto size = static_cast<uint32_t>(b.size() - 4);
  for (int i = 0; i < 4; ++i) b[static_cast<size_t>(i)] = static_cast<uint8_t>(size >> (24 - 8 * i));
  return b;
}

// Parses an ApiVersions v0 response body (after the 4-byte size):
// correlation id, error code, [api key, min, max]. nullopt if malformed, if
// the correlation id differs or if the error code is not 0.
inline std::optional<std::map<int16_t, ApiRange>> parse_api_versions_response(
    const uint8_t* p, size_t n, int32_t correlation_id) {
  size_t off = 0;
  auto get16 = [&](int16_t& v) {
    if (n - off < 2) return false;
    v = static_cast<int16_t>((p[off] << 8) | p[off + 1]);
    off += 2;
    return true;
  };
  auto get32 = [&](int32_t& v) {
    if (n - off < 4) return false;
    v = static_cast<int32_t>((uint32_t{p[off]} << 24) | (uint32_t{p[off + 1]} << 16) |
                             (uint32_t{p[off + 2]} << 8) | uint32_t{p[off + 3]});
    off += 4;
    return true;
  };
  int32_t corr = 0, count = 0;
  int16_t err = 0;
  if (!get32(corr) || corr != correlation_id || !get16(err) || err != 0 || !get32(count) ||
      count < 0 || static_cast<size_t>(count) > (n - off) / 6)
    return std::nullopt;
  std::map<int16_t, ApiRange> apis;
  for (int32_t i = 0; i < count; ++i) {
    int16_t key = 0;
    ApiRange r;
    get16(key);
    get16(r.min);
    get16(r.max);
    apis[key] = r;
  }
  return apis;
}

// An API a tool needs: key, name, and the highest version librdkafka 2.0.2
// speaks (-1: any version will do).
struct ApiNeed {
  int16_t key;
  const char* name;
  int16_t client_max = -1;
};

inline constexpr ApiNeed kProduce{0, "Produce", 7};
inline constexpr ApiNeed kFetch{1, "Fetch", 11};
inline constexpr ApiNeed kListOffsets{2, "ListOffsets"};
inline constexpr ApiNeed kMetadata{3, "Metadata"};
inline constexpr ApiNeed kCreateTopics{19, "CreateTopics"};

// The first need that `apis` does not meet, described; "" if all are met.
inline std::string missing_api(const std::map<int16_t, ApiRange>& apis,
                               const std::vector<ApiNeed>& needs) {
  for (const ApiNeed& need : needs) {
    const auto it = apis.find(need.key);
    const std::string what = std::string(need.name) + " (ApiKey " + std::to_string(need.key) + ")";
    if (it == apis.end() || it->second.min < 0 || it->second.max < it->second.min)
      return "broker does not support " + what;
    if (need.client_max >= 0 && it->second.min > need.client_max)
      return "broker supports " + what + " only from v" + std::to_string(it->second.min) +
             ", librdkafka at most v" + std::to_string(need.client_max);
  }
  return "";
}

}  // namespace samsa::bench
