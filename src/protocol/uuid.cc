#include "samsa/protocol/uuid.h"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <random>

namespace samsa::protocol {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr size_t kEncodedSize = 22;  // ceil(16 * 8 / 6), no '=' padding

// Reverse of kAlphabet; -1 marks characters outside the URL-safe alphabet
// (including '+', '/' and '=' of the other base64 variants).
constexpr std::array<int8_t, 256> make_decode_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kDecode = make_decode_table();

// Kernel CSPRNG; topic IDs must not collide across brokers that were started
// at the same instant, so a time-seeded PRNG is not good enough.
void fill_random(uint8_t* out, size_t n) {
  while (n > 0) {
    ssize_t got = ::getrandom(out, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      break;  // e.g. ENOSYS in an old sandbox: fall back below
    }
    out += got;
    n -= static_cast<size_t>(got);
  }
  if (n == 0) return;
  thread_local std::random_device device;
  while (n > 0) {
    uint32_t word = device();
    size_t k = n < sizeof word ? n : sizeof word;
    std::memcpy(out, &word, k);
    out += k;
    n -= k;
  }
}

const Uuid& metadata_topic_id() {
  static const Uuid id = [] {
    Uuid u;
    u.bytes[15] = 1;
    return u;
  }();
  return id;
}

}  // namespace

Uuid Uuid::random() {
  for (;;) {
    Uuid u;
    fill_random(u.bytes.data(), u.bytes.size());
    // RFC 4122 version 4 / IETF variant bits, as java.util.UUID.randomUUID sets.
    u.bytes[6] = static_cast<uint8_t>((u.bytes[6] & 0x0f) | 0x40);
    u.bytes[8] = static_cast<uint8_t>((u.bytes[8] & 0x3f) | 0x80);
    // The version bits already make zero and the sentinel impossible; the
    // checks stay so the contract does not hinge on that. A leading '-'
    // (first 6 bits == 62) would read as a command-line flag, so Kafka
    // re-draws those and so do we.
    if (u.is_zero() || u == metadata_topic_id()) continue;
    if ((u.bytes[0] >> 2) == 62) continue;
    return u;
  }
}

std::string Uuid::to_string() const {
  std::string out;
  out.reserve(kEncodedSize);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  // 16 = 5 * 3 + 1: one byte left over, encoded as two characters.
  uint32_t last = bytes[i];
  out.push_back(kAlphabet[last >> 2]);
  out.push_back(kAlphabet[(last & 3) << 4]);
  return out;
}

// Strict: exactly 22 URL-safe characters, no padding, and the 4 unused low
// bits of the last character must be zero. That makes the string form
// canonical (from_string(s)->to_string() == s), which Java's lenient decoder
// does not guarantee; every correct encoder produces such strings anyway.
std::optional<Uuid> Uuid::from_string(std::string_view s) {
  if (s.size() != kEncodedSize) return std::nullopt;
  int8_t vals[kEncodedSize];
  for (size_t i = 0; i < kEncodedSize; ++i) {
    vals[i] = kDecode[static_cast<uint8_t>(s[i])];
    if (vals[i] < 0) return std::nullopt;
  }
  if ((vals[21] & 0x0f) != 0) return std::nullopt;
  Uuid u;
  size_t o = 0;
  for (size_t i = 0; i + 4 <= 20; i += 4) {
    uint32_t v = (uint32_t(vals[i]) << 18) | (uint32_t(vals[i + 1]) << 12) |
                 (uint32_t(vals[i + 2]) << 6) | uint32_t(vals[i + 3]);
    u.bytes[o++] = static_cast<uint8_t>(v >> 16);
    u.bytes[o++] = static_cast<uint8_t>(v >> 8);
    u.bytes[o++] = static_cast<uint8_t>(v);
  }
  u.bytes[15] = static_cast<uint8_t>((vals[20] << 2) | (vals[21] >> 4));
  return u;
}

}  // namespace samsa::protocol
