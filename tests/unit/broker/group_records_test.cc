// __consumer_offsets record formats: exact bytes as Apache Kafka writes them,
// every value version Kafka may have written, and partitionFor's Java hash.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "samsa/broker/group/coordinator_records.h"
#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/gen/group_metadata_value.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::broker::group {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes str(const std::string& s) { return Bytes(s.begin(), s.end()); }

// Concatenates big-endian fields for hand-built expected bytes.
struct Expect {
  Bytes b;
  Expect& i16(int16_t v) { return raw({static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)}); }
  Expect& i32(int32_t v) { return i16(static_cast<int16_t>(v >> 16)).i16(static_cast<int16_t>(v)); }
  Expect& i64(int64_t v) { return i32(static_cast<int32_t>(v >> 32)).i32(static_cast<int32_t>(v)); }
  Expect& s16(const std::string& s) { return i16(static_cast<int16_t>(s.size())).raw(str(s)); }
  Expect& bytes32(const Bytes& v) { return i32(static_cast<int32_t>(v.size())).raw(v); }
  Expect& compact(const std::string& s) { return u8(static_cast<uint8_t>(s.size() + 1)).raw(str(s)); }
  Expect& u8(uint8_t v) { return raw({v}); }
  Expect& raw(const Bytes& v) {
    b.insert(b.end(), v.begin(), v.end());
    return *this;
  }
};

std::optional<CoordinatorRecord> decode(const Bytes& key, const std::optional<Bytes>& value) {
  std::optional<std::span<const uint8_t>> v;
  if (value) v = std::span<const uint8_t>(*value);
  return decode_record(key, v);
}

GroupRecord sample_group() {
  GroupRecord g;
  g.protocol_type = "consumer";
  g.generation = 7;
  g.protocol = "range";
  g.leader = "m1";
  g.current_state_timestamp_ms = 1700000000000;
  MemberRecord m;
  m.member_id = "m1";
  m.group_instance_id = "i1";
  m.client_id = "c";
  m.client_host = "/127.0.0.1";
  m.rebalance_timeout_ms = 300000;
  m.session_timeout_ms = 45000;
  m.subscription = {1, 2, 3};
  m.assignment = {4, 5};
  g.members.push_back(m);
  m.member_id = "m2";
  m.group_instance_id.reset();
  m.assignment.clear();
  g.members.push_back(m);
  return g;
}

// ---- partition_for: String.hashCode values computed by hand ----

TEST(PartitionFor, MatchesJavaHashCode) {
  EXPECT_EQ(partition_for("", 50), 0);                        // hashCode 0
  EXPECT_EQ(partition_for("a", 50), 97 % 50);                 // hashCode 97
  EXPECT_EQ(partition_for("a", 1000), 97);
  EXPECT_EQ(partition_for("test-group", 50), 627841412 % 50);  // 12
  EXPECT_EQ(partition_for("my-consumer-group", 50), 1513705513 % 50);
}

TEST(PartitionFor, NegativeHashUsesAbsoluteValue) {
  // "grüppe" (ü = U+00FC, two UTF-8 bytes, one UTF-16 unit): hashCode -1233264812.
  EXPECT_EQ(partition_for("gr\xc3\xbcppe", 50), 1233264812 % 50);
  EXPECT_EQ(partition_for("gr\xc3\xbcppe", 7), 1233264812 % 7);
}

TEST(PartitionFor, IntMinMapsToZero) {
  // "polygenelubricants".hashCode() == Integer.MIN_VALUE; Utils.abs gives 0.
  EXPECT_EQ(partition_for("polygenelubricants", 50), 0);
  EXPECT_EQ(partition_for("polygenelubricants", 7), 0);
}

TEST(PartitionFor, SupplementaryCharactersHashAsSurrogatePairs) {
  // U+1F600 is D83D DE00 in UTF-16: 0xD83D * 31 + 0xDE00 = 1772899.
  EXPECT_EQ(partition_for("\xf0\x9f\x98\x80", 50), 1772899 % 50);
  // "groupe-é-😀": hashCode 1214321774.
  EXPECT_EQ(partition_for("groupe-\xc3\xa9-\xf0\x9f\x98\x80", 50), 1214321774 % 50);
}

TEST(PartitionFor, MalformedUtf8HashesLikeJavaReplacement) {
  // Java decodes each ill-formed subpart to U+FFFD (65533), an encoded
  // surrogate to one U+FFFD; "a\uFFFD\uFFFDb".hashCode() == 67898561.
  EXPECT_EQ(partition_for("\xff", 100000), 65533);
  EXPECT_EQ(partition_for("\xed\xa0\x80", 100000), 65533);
  EXPECT_EQ(partition_for("a\x80\xe1\x80" "b", 1000000000), 67898561);  // E1 80 then 'b': one unit
  EXPECT_EQ(partition_for("a\xc3\xff" "b", 1000000000), 67898561);
}

// ---- keys ----

TEST(CoordinatorRecords, OffsetCommitKeyIsVersion1) {
  auto r = CoordinatorRecord::offset_commit("g", "topic", 5, std::nullopt);
  EXPECT_EQ(encode_key(r), Expect{}.i16(1).s16("g").s16("topic").i32(5).b);
}

TEST(CoordinatorRecords, GroupMetadataKeyIsVersion2) {
  auto r = CoordinatorRecord::group_metadata("grp", std::nullopt);
  EXPECT_EQ(encode_key(r), Expect{}.i16(2).s16("grp").b);
}

// ---- offset commit values ----

TEST(CoordinatorRecords, OffsetCommitValueIsVersion3) {
  OffsetAndMetadata o{.offset = 42, .leader_epoch = 3, .metadata = "md", .commit_timestamp_ms = 1000,
                      .expire_timestamp_ms = std::nullopt};
  auto r = CoordinatorRecord::offset_commit("g", "t", 0, o);
  EXPECT_EQ(encode_value(r), Expect{}.i16(3).i64(42).i32(3).s16("md").i64(1000).b);
  auto back = decode(encode_key(r), encode_value(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, r);
}

TEST(CoordinatorRecords, OffsetCommitValueWithExpiryIsVersion1) {
  OffsetAndMetadata o{.offset = 9, .leader_epoch = 3, .metadata = "", .commit_timestamp_ms = 1000,
                      .expire_timestamp_ms = 5000};
  auto r = CoordinatorRecord::offset_commit("g", "t", 1, o);
  // v1 has no leader epoch: it is lost, as in Kafka.
  EXPECT_EQ(encode_value(r), Expect{}.i16(1).i64(9).s16("").i64(1000).i64(5000).b);
  auto back = decode(encode_key(r), encode_value(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->offset->leader_epoch, -1);
  EXPECT_EQ(back->offset->expire_timestamp_ms, 5000);
  EXPECT_EQ(back->offset->offset, 9);
}

TEST(CoordinatorRecords, DecodesEveryOffsetCommitValueVersion) {
  const Bytes key = Expect{}.i16(1).s16("g").s16("t").i32(2).b;
  struct Case {
    Bytes value;
    OffsetAndMetadata want;
  };
  const Case cases[] = {
      {Expect{}.i16(0).i64(10).s16("m").i64(100).b, {10, -1, "m", 100, std::nullopt}},
      {Expect{}.i16(1).i64(11).s16("m").i64(100).i64(200).b, {11, -1, "m", 100, 200}},
      // v1 with expireTimestamp -1 means "no expiry".
      {Expect{}.i16(1).i64(11).s16("m").i64(100).i64(-1).b, {11, -1, "m", 100, std::nullopt}},
      {Expect{}.i16(2).i64(12).s16("m").i64(100).b, {12, -1, "m", 100, std::nullopt}},
      {Expect{}.i16(3).i64(13).i32(4).s16("m").i64(100).b, {13, 4, "m", 100, std::nullopt}},
      // v4 is flexible: compact string and an (empty) tagged-field section.
      {Expect{}.i16(4).i64(14).i32(5).compact("m").i64(100).u8(0).b, {14, 5, "m", 100, std::nullopt}},
  };
  for (const auto& c : cases) {
    auto r = decode(key, c.value);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, CoordinatorRecord::Kind::kOffsetCommit);
    EXPECT_EQ(r->group_id, "g");
    EXPECT_EQ(r->topic, "t");
    EXPECT_EQ(r->partition, 2);
    ASSERT_TRUE(r->offset);
    EXPECT_EQ(*r->offset, c.want) << "value version " << int(c.value[1]);
  }
}

TEST(CoordinatorRecords, OffsetCommitKeyVersion0IsAnOffsetCommit) {
  auto r = decode(Expect{}.i16(0).s16("g").s16("t").i32(3).b, std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, CoordinatorRecord::offset_commit("g", "t", 3, std::nullopt));
}

TEST(CoordinatorRecords, Tombstones) {
  auto oc = CoordinatorRecord::offset_commit("g", "t", 1, std::nullopt);
  EXPECT_FALSE(encode_value(oc));
  auto back = decode(encode_key(oc), std::nullopt);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, oc);

  auto gm = CoordinatorRecord::group_metadata("g", std::nullopt);
  EXPECT_FALSE(encode_value(gm));
  back = decode(encode_key(gm), std::nullopt);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, gm);
}

// ---- group metadata values ----

TEST(CoordinatorRecords, GroupMetadataValueIsVersion3) {
  GroupRecord g;
  g.protocol_type = "consumer";
  g.generation = 1;
  g.protocol = "range";
  g.leader = std::nullopt;
  g.current_state_timestamp_ms = 77;
  MemberRecord m{.member_id = "m", .group_instance_id = std::nullopt, .client_id = "c", .client_host = "h",
                 .rebalance_timeout_ms = 10, .session_timeout_ms = 20, .subscription = {1}, .assignment = {}};
  g.members.push_back(m);
  auto r = CoordinatorRecord::group_metadata("g", g);
  const Bytes want = Expect{}
                         .i16(3)
                         .s16("consumer")
                         .i32(1)
                         .s16("range")
                         .i16(-1)  // null leader
                         .i64(77)
                         .i32(1)  // members
                         .s16("m")
                         .i16(-1)  // null group instance id
                         .s16("c")
                         .s16("h")
                         .i32(10)
                         .i32(20)
                         .bytes32({1})
                         .bytes32({})
                         .b;
  EXPECT_EQ(encode_value(r), want);
  auto back = decode(encode_key(r), encode_value(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, r);
}

TEST(CoordinatorRecords, GroupMetadataRoundTrip) {
  auto r = CoordinatorRecord::group_metadata("grp", sample_group());
  auto back = decode(encode_key(r), encode_value(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, r);
}

TEST(CoordinatorRecords, DecodesEveryGroupMetadataValueVersion) {
  const Bytes key = Expect{}.i16(2).s16("grp").b;
  const GroupRecord full = sample_group();
  for (int16_t version = 0; version <= 4; ++version) {
    // Encode with the generated codec at that version, as an older broker would have.
    protocol::GroupMetadataValue v;
    v.protocol_type = full.protocol_type;
    v.generation = full.generation;
    v.protocol = full.protocol;
    v.leader = full.leader;
    v.current_state_timestamp = full.current_state_timestamp_ms;
    for (const auto& m : full.members) {
      auto& out = v.members.emplace_back();
      out.member_id = m.member_id;
      out.group_instance_id = m.group_instance_id;
      out.client_id = m.client_id;
      out.client_host = m.client_host;
      out.rebalance_timeout = m.rebalance_timeout_ms;
      out.session_timeout = m.session_timeout_ms;
      out.subscription = m.subscription;
      out.assignment = m.assignment;
    }
    protocol::WireWriter w;
    v.encode(w, version);
    auto r = decode(key, Expect{}.i16(version).raw(w.take()).b);
    ASSERT_TRUE(r) << "version " << version;
    ASSERT_TRUE(r->group);
    GroupRecord want = full;
    if (version < 2) want.current_state_timestamp_ms = -1;
    for (auto& m : want.members) {
      if (version < 1) m.rebalance_timeout_ms = -1;
      if (version < 3) m.group_instance_id.reset();
    }
    EXPECT_EQ(*r->group, want) << "version " << version;
    EXPECT_EQ(r->group_id, "grp");
  }
}

// ---- what the group coordinator does not own, and bad bytes ----

TEST(CoordinatorRecords, ForeignKeyVersionsAreSkipped) {
  for (int16_t version : {3, 4, 5, 6, 7, 8, 9, 10, 15, 100, -1}) {
    const Bytes key = Expect{}.i16(version).s16("g").b;
    EXPECT_FALSE(decode(key, Bytes{0, 0, 1})) << "key version " << version;
    EXPECT_FALSE(decode(key, std::nullopt)) << "key version " << version;
  }
}

TEST(CoordinatorRecords, MalformedBytesThrow) {
  const Bytes key = Expect{}.i16(1).s16("g").s16("t").i32(0).b;
  EXPECT_THROW(decode(Bytes{0}, std::nullopt), protocol::DecodeError);               // short key version
  EXPECT_THROW(decode(Expect{}.i16(1).s16("g").b, std::nullopt), protocol::DecodeError);  // truncated key
  EXPECT_THROW(decode(key, Bytes{}), protocol::DecodeError);                           // empty value
  EXPECT_THROW(decode(key, Expect{}.i16(3).i64(1).b), protocol::DecodeError);          // truncated value
  EXPECT_THROW(decode(key, Expect{}.i16(5).i64(1).s16("").i64(0).b), protocol::DecodeError);  // unknown version
  EXPECT_THROW(decode(Expect{}.i16(2).s16("g").b, Expect{}.i16(9).b), protocol::DecodeError);
}

}  // namespace
}  // namespace samsa::broker::group
