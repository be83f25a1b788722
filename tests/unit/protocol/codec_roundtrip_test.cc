// encode -> decode -> encode over every generated message type and every
// version in its range, from pseudo-random instances.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>

#include "samsa/protocol/gen_test/test_support.h"

namespace samsa::protocol {
namespace {

using gen_test::all_message_codecs;

constexpr uint64_t kSeedsPerVersion = 40;

TEST(CodecRoundtrip, EveryMessageEveryVersion) {
  size_t pairs = 0, cases = 0, bytes = 0;
  std::set<std::string> kinds;
  for (const auto& codec : all_message_codecs()) {
    kinds.insert(codec.kind);
    for (int16_t v = codec.min_version; v <= codec.max_version; ++v) {
      ++pairs;
      for (uint64_t seed = 0; seed < kSeedsPerVersion; ++seed) {
        ++cases;
        gen_test::RoundtripResult res;
        try {
          res = codec.roundtrip(v, seed * 7919 + static_cast<uint64_t>(v));
        } catch (const std::exception& e) {
          ADD_FAILURE() << codec.name << " v" << v << " seed " << seed << ": " << e.what();
          continue;
        }
        bytes += res.first.size();
        EXPECT_TRUE(res.consumed_all) << codec.name << " v" << v << " seed " << seed;
        EXPECT_TRUE(res.equal) << codec.name << " v" << v << " seed " << seed;
        EXPECT_EQ(res.first, res.second) << codec.name << " v" << v << " seed " << seed;
      }
    }
  }
  std::printf("[ roundtrip ] %zu message types, %zu (message, version) pairs, %zu cases, %zu bytes\n",
              all_message_codecs().size(), pairs, cases, bytes);
  // 88 requests + 88 responses + 2 headers + data/metadata/coordinator records.
  EXPECT_EQ(all_message_codecs().size(), 248u);
  EXPECT_GE(pairs, 700u);
  EXPECT_EQ(kinds, (std::set<std::string>{"request", "response", "header", "data", "metadata"}));
}

TEST(CodecRoundtrip, RequestsAndResponsesPairUp) {
  std::set<int16_t> req, resp;
  for (const auto& codec : all_message_codecs()) {
    if (std::string(codec.kind) == "request") req.insert(codec.api_key);
    if (std::string(codec.kind) == "response") resp.insert(codec.api_key);
  }
  EXPECT_EQ(req.size(), 88u);
  EXPECT_EQ(req, resp);
}

// The random generator must actually exercise the interesting shapes: some
// instances are large, and flexible versions carry unknown tagged fields.
TEST(CodecRoundtrip, RandomInstancesAreNotTrivial) {
  size_t max_len = 0;
  for (const auto& codec : all_message_codecs()) {
    if (std::string(codec.name) != "MetadataResponse") continue;
    for (uint64_t seed = 0; seed < 50; ++seed) max_len = std::max(max_len, codec.random_encoded(12, seed).size());
  }
  EXPECT_GT(max_len, 100u);
}

}  // namespace
}  // namespace samsa::protocol
