// Malformed input must come out of decode as DecodeError (or decode fine):
// truncations, byte flips and garbage for every message and version.
// Deterministic seeds; bounded work per (message, version).
#include <gtest/gtest.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/gen_test/test_support.h"

namespace samsa::protocol {
namespace {

using gen_test::all_message_codecs;
using gen_test::MessageCodec;
using gen_test::Rng;

constexpr uint64_t kBaseSeeds = 8;
constexpr size_t kMaxPrefixes = 256;  // every prefix up to this length, then a sample
constexpr int kFlipsPerInput = 128;
constexpr int kGarbagePerVersion = 64;

struct Stats {
  size_t attempts = 0, decoded = 0, rejected = 0;
};

// Returns false (after recording a failure) if anything but DecodeError escapes.
bool try_decode(const MessageCodec& c, int16_t v, std::span<const uint8_t> in, const char* what, Stats& st,
                bool must_fail = false) {
  ++st.attempts;
  try {
    auto out = c.decode_then_encode(in, v);
    ++st.decoded;
    if (must_fail) {
      ADD_FAILURE() << c.name << " v" << v << " " << what << ": a strict prefix decoded";
      return false;
    }
    // Whatever decodes re-encodes to a fixed point.
    auto again = c.decode_then_encode(out, v);
    if (again != out) {
      ADD_FAILURE() << c.name << " v" << v << " " << what << ": re-encoding is not stable";
      return false;
    }
  } catch (const DecodeError&) {
    ++st.rejected;
  } catch (const std::exception& e) {
    ADD_FAILURE() << c.name << " v" << v << " " << what << ": unexpected exception: " << e.what();
    return false;
  }
  return true;
}

void fuzz_one(const MessageCodec& c, int16_t v, Stats& st) {
  Rng g(0xf022 + static_cast<uint64_t>(c.api_key) * 131 + static_cast<uint64_t>(v) * 7);
  for (uint64_t seed = 0; seed < kBaseSeeds; ++seed) {
    const std::vector<uint8_t> valid = c.random_encoded(v, seed * 104729 + 17);
    // The intact encoding decodes.
    if (!try_decode(c, v, valid, "intact", st)) return;
    ASSERT_GT(st.decoded, 0u);

    // Truncations: every strict prefix must be rejected.
    const size_t n = valid.size();
    std::vector<size_t> lengths;
    if (n <= kMaxPrefixes) {
      for (size_t len = 0; len < n; ++len) lengths.push_back(len);
    } else {
      for (size_t len = 0; len < kMaxPrefixes / 2; ++len) lengths.push_back(len);
      for (size_t i = 0; i < kMaxPrefixes / 2; ++i) lengths.push_back(n - 1 - g.below(static_cast<uint32_t>(n)));
    }
    for (size_t len : lengths) {
      if (!try_decode(c, v, std::span<const uint8_t>(valid.data(), len), "prefix", st, /*must_fail=*/true)) return;
    }

    // Byte flips (one to three bytes changed).
    if (n == 0) continue;
    for (int i = 0; i < kFlipsPerInput; ++i) {
      std::vector<uint8_t> m = valid;
      for (uint32_t k = 0, flips = 1 + g.below(3); k < flips; ++k) {
        size_t pos = g.below(static_cast<uint32_t>(n));
        m[pos] = g.chance(50) ? static_cast<uint8_t>(m[pos] ^ (1u << g.below(8))) : static_cast<uint8_t>(g.next());
      }
      if (!try_decode(c, v, m, "flip", st)) return;
    }
  }
  // Garbage, with a bias towards long-looking lengths (0xff / 0x7f bytes).
  for (int i = 0; i < kGarbagePerVersion; ++i) {
    std::vector<uint8_t> m(g.below(48));
    for (auto& b : m) {
      uint32_t r = g.below(8);
      b = r == 0 ? 0xff : r == 1 ? 0x7f : r == 2 ? 0x00 : static_cast<uint8_t>(g.next());
    }
    if (!try_decode(c, v, m, "garbage", st)) return;
  }
}

TEST(CodecFuzz, MalformedInputOnlyThrowsDecodeError) {
  Stats st;
  size_t pairs = 0;
  for (const auto& c : all_message_codecs()) {
    for (int16_t v = c.min_version; v <= c.max_version; ++v) {
      ++pairs;
      fuzz_one(c, v, st);
    }
  }
  std::printf("[ fuzz ] %zu (message, version) pairs, %zu decodes: %zu ok, %zu DecodeError\n", pairs, st.attempts,
              st.decoded, st.rejected);
  EXPECT_GE(pairs, 700u);
  EXPECT_GT(st.rejected, st.attempts / 2);
}

TEST(CodecFuzz, UnsupportedVersionIsDecodeError) {
  const std::vector<uint8_t> empty;
  for (const auto& c : all_message_codecs()) {
    EXPECT_THROW(c.decode_then_encode(empty, static_cast<int16_t>(c.max_version + 1)), DecodeError) << c.name;
    EXPECT_THROW(c.decode_then_encode(empty, static_cast<int16_t>(c.min_version - 1)), DecodeError) << c.name;
  }
}

}  // namespace
}  // namespace samsa::protocol
