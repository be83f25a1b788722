#include "samsa/protocol/uuid.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace samsa::protocol {
namespace {

Uuid from_bytes(std::initializer_list<uint8_t> b) {
  Uuid u;
  std::copy(b.begin(), b.end(), u.bytes.begin());
  return u;
}

TEST(Uuid, ZeroAndMetadataTopicIdStrings) {
  EXPECT_EQ(Uuid::zero().to_string(), "AAAAAAAAAAAAAAAAAAAAAA");
  Uuid metadata;
  metadata.bytes[15] = 1;
  EXPECT_EQ(metadata.to_string(), "AAAAAAAAAAAAAAAAAAAAAQ");  // Kafka's METADATA_TOPIC_ID
}

// Expected strings from an independent base64 encoder (Python's
// urlsafe_b64encode with the '==' padding removed).
TEST(Uuid, KnownEncodings) {
  auto seq = from_bytes({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  EXPECT_EQ(seq.to_string(), "AAECAwQFBgcICQoLDA0ODw");
  Uuid ones;
  ones.bytes.fill(0xff);
  EXPECT_EQ(ones.to_string(), "_____________________w");
  auto dashes = from_bytes({0xfb, 0xef, 0xbe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                            0xff, 0xff, 0xff, 0x10});
  EXPECT_EQ(dashes.to_string(), "----________________EA");

  EXPECT_EQ(Uuid::from_string("AAECAwQFBgcICQoLDA0ODw"), seq);
  EXPECT_EQ(Uuid::from_string("_____________________w"), ones);
  EXPECT_EQ(Uuid::from_string("----________________EA"), dashes);
  EXPECT_EQ(Uuid::from_string("AAAAAAAAAAAAAAAAAAAAAA"), Uuid::zero());
}

TEST(Uuid, FromStringRejectsMalformed) {
  EXPECT_FALSE(Uuid::from_string(""));
  EXPECT_FALSE(Uuid::from_string("AAECAwQFBgcICQoLDA0OD"));      // 21 chars
  EXPECT_FALSE(Uuid::from_string("AAECAwQFBgcICQoLDA0ODwA"));    // 23 chars
  EXPECT_FALSE(Uuid::from_string("AAECAwQFBgcICQoLDA0ODw=="));   // padded
  EXPECT_FALSE(Uuid::from_string("AAECAwQFBgcICQoLDA0OD+"));     // standard alphabet
  EXPECT_FALSE(Uuid::from_string("AAECAwQFBgcICQoLDA0OD/"));
  EXPECT_FALSE(Uuid::from_string("AAECAwQFBgcI CQoLDA0ODw"));
  EXPECT_FALSE(Uuid::from_string(std::string("AAECAwQFBgcI\0QoLDA0ODw", 22)));
  EXPECT_FALSE(Uuid::from_string("AAECAwQFBgcICQoLDA0OD\xff"));
  // Non-zero unused trailing bits: not the canonical string of any Uuid.
  EXPECT_FALSE(Uuid::from_string("AAECAwQFBgcICQoLDA0ODx"));
}

TEST(Uuid, RoundTripAllSingleBytes) {
  for (size_t pos = 0; pos < 16; ++pos) {
    for (int v = 0; v < 256; ++v) {
      Uuid u;
      u.bytes[pos] = static_cast<uint8_t>(v);
      auto s = u.to_string();
      ASSERT_EQ(s.size(), 22u);
      auto back = Uuid::from_string(s);
      ASSERT_TRUE(back) << s;
      ASSERT_EQ(*back, u) << s;
    }
  }
}

TEST(Uuid, RandomIsVersion4AndNeverASentinel) {
  Uuid metadata;
  metadata.bytes[15] = 1;
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    Uuid u = Uuid::random();
    EXPECT_EQ(u.bytes[6] >> 4, 4);
    EXPECT_EQ(u.bytes[8] >> 6, 2);
    EXPECT_FALSE(u.is_zero());
    EXPECT_NE(u, metadata);
    auto s = u.to_string();
    EXPECT_NE(s[0], '-') << s;
    EXPECT_EQ(Uuid::from_string(s), u);
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 2000u);
}

}  // namespace
}  // namespace samsa::protocol
