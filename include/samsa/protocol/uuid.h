#pragma once
// Kafka's 128-bit Uuid: 16 bytes on the wire (most significant long first),
// printed as 22 characters of unpadded URL-safe base64.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace samsa::protocol {

struct Uuid {
  std::array<uint8_t, 16> bytes{};

  static Uuid zero() { return Uuid{}; }
  // A random v4 UUID that, like Kafka's, never prints with a leading '-'
  // and is never the zero or metadata-topic sentinel.
  static Uuid random();
  static std::optional<Uuid> from_string(std::string_view base64);

  std::string to_string() const;
  bool is_zero() const { return *this == Uuid{}; }
  bool operator==(const Uuid&) const = default;
};

}  // namespace samsa::protocol
