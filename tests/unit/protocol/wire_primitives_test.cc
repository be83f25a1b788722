// WireReader / WireWriter primitives: varints, nulls, bounds.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::protocol {
namespace {

using Bytes = std::vector<uint8_t>;

template <class F>
Bytes write(F&& f) {
  WireWriter w;
  f(w);
  return w.take();
}

TEST(WirePrimitives, VarintZigZagEdges) {
  struct Case {
    int32_t value;
    Bytes bytes;
  };
  const Case cases[] = {
      {0, {0x00}},
      {-1, {0x01}},
      {1, {0x02}},
      {-2, {0x03}},
      {63, {0x7e}},
      {-64, {0x7f}},
      {64, {0x80, 0x01}},
      {std::numeric_limits<int32_t>::max(), {0xfe, 0xff, 0xff, 0xff, 0x0f}},
      {std::numeric_limits<int32_t>::min(), {0xff, 0xff, 0xff, 0xff, 0x0f}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(write([&](WireWriter& w) { w.varint(c.value); }), c.bytes) << c.value;
    WireReader r(c.bytes);
    EXPECT_EQ(r.varint(), c.value);
    EXPECT_TRUE(r.at_end());
  }
}

TEST(WirePrimitives, VarlongZigZagEdges) {
  struct Case {
    int64_t value;
    Bytes bytes;
  };
  const Case cases[] = {
      {0, {0x00}},
      {-1, {0x01}},
      {1, {0x02}},
      {150, {0xac, 0x02}},
      {std::numeric_limits<int64_t>::max(), {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
      {std::numeric_limits<int64_t>::min(), {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(write([&](WireWriter& w) { w.varlong(c.value); }), c.bytes) << c.value;
    WireReader r(c.bytes);
    EXPECT_EQ(r.varlong(), c.value);
    EXPECT_TRUE(r.at_end());
  }
}

TEST(WirePrimitives, UnsignedVarint) {
  EXPECT_EQ(write([](WireWriter& w) { w.uvarint(0); }), Bytes{0x00});
  EXPECT_EQ(write([](WireWriter& w) { w.uvarint(127); }), Bytes{0x7f});
  EXPECT_EQ(write([](WireWriter& w) { w.uvarint(128); }), (Bytes{0x80, 0x01}));
  EXPECT_EQ(write([](WireWriter& w) { w.uvarint(300); }), (Bytes{0xac, 0x02}));
  EXPECT_EQ(write([](WireWriter& w) { w.uvarint(0xffffffffu); }), (Bytes{0xff, 0xff, 0xff, 0xff, 0x0f}));
  Bytes b{0xff, 0xff, 0xff, 0xff, 0x0f};
  WireReader r(b);
  EXPECT_EQ(r.uvarint(), 0xffffffffu);
}

TEST(WirePrimitives, OverlongVarintRejected) {
  Bytes six{0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  WireReader r1(six);
  EXPECT_THROW(r1.uvarint(), DecodeError);
  WireReader r2(six);
  EXPECT_THROW(r2.varint(), DecodeError);
  Bytes eleven(10, 0x80);
  eleven.push_back(0x00);
  WireReader r3(eleven);
  EXPECT_THROW(r3.varlong(), DecodeError);
  // Unterminated.
  Bytes cut{0x80, 0x80};
  WireReader r4(cut);
  EXPECT_THROW(r4.uvarint(), DecodeError);
}

TEST(WirePrimitives, ClassicAndCompactNulls) {
  EXPECT_EQ(write([](WireWriter& w) { w.nullable_string(std::nullopt, false); }), (Bytes{0xff, 0xff}));
  EXPECT_EQ(write([](WireWriter& w) { w.nullable_string(std::nullopt, true); }), Bytes{0x00});
  EXPECT_EQ(write([](WireWriter& w) { w.nullable_bytes(std::nullopt, false); }), (Bytes{0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(write([](WireWriter& w) { w.nullable_bytes(std::nullopt, true); }), Bytes{0x00});
  EXPECT_EQ(write([](WireWriter& w) { w.array_length(std::nullopt, false); }), (Bytes{0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(write([](WireWriter& w) { w.array_length(std::nullopt, true); }), Bytes{0x00});
  // Empty is not null.
  EXPECT_EQ(write([](WireWriter& w) { w.string("", false); }), (Bytes{0x00, 0x00}));
  EXPECT_EQ(write([](WireWriter& w) { w.string("", true); }), Bytes{0x01});
  EXPECT_EQ(write([](WireWriter& w) { w.string("ab", true); }), (Bytes{0x03, 'a', 'b'}));
  EXPECT_EQ(write([](WireWriter& w) { w.array_length(0, false); }), (Bytes{0, 0, 0, 0}));

  Bytes classic_null{0xff, 0xff};
  WireReader r1(classic_null);
  EXPECT_EQ(r1.nullable_string(false), std::nullopt);
  WireReader r2(classic_null);
  EXPECT_THROW(r2.string(false), DecodeError);
  Bytes compact_null{0x00};
  WireReader r3(compact_null);
  EXPECT_EQ(r3.nullable_string(true), std::nullopt);
  WireReader r4(compact_null);
  EXPECT_THROW(r4.bytes(true), DecodeError);
  WireReader r5(compact_null);
  EXPECT_EQ(r5.array_length(true), std::nullopt);
  WireReader r6(compact_null);
  EXPECT_TRUE(r6.records(true).is_null());
  // Classic lengths below -1 are malformed, not null.
  Bytes minus_two{0xff, 0xfe};
  WireReader r7(minus_two);
  EXPECT_THROW(r7.nullable_string(false), DecodeError);
  Bytes minus_two32{0xff, 0xff, 0xff, 0xfe};
  WireReader r8(minus_two32);
  EXPECT_THROW(r8.array_length(false), DecodeError);
}

TEST(WirePrimitives, LengthBeyondRemainingRejected) {
  Bytes s{0x00, 0x05, 'a', 'b', 'c'};
  WireReader r1(s);
  EXPECT_THROW(r1.string(false), DecodeError);
  Bytes cs{0x06, 'a', 'b'};
  WireReader r2(cs);
  EXPECT_THROW(r2.string(true), DecodeError);
  Bytes b{0x7f, 0xff, 0xff, 0xff, 0x00};
  WireReader r3(b);
  EXPECT_THROW(r3.bytes(false), DecodeError);
  // A huge array count is rejected before anything is allocated.
  Bytes a{0x7f, 0xff, 0xff, 0xff, 0x00, 0x00};
  WireReader r4(a);
  EXPECT_THROW(r4.array_length(false), DecodeError);
  Bytes ca{0xff, 0xff, 0xff, 0xff, 0x0f};
  WireReader r5(ca);
  EXPECT_THROW(r5.array_length(true), DecodeError);
  Bytes short_int{0x00, 0x01};
  WireReader r6(short_int);
  EXPECT_THROW(r6.int32(), DecodeError);
  WireReader r7(short_int);
  EXPECT_THROW(r7.uuid(), DecodeError);
}

TEST(WirePrimitives, FixedWidthBigEndian) {
  auto b = write([](WireWriter& w) {
    w.int16(-2);
    w.int32(0x01020304);
    w.int64(-1);
    w.uint16(0xabcd);
    w.float64(1.0);
  });
  EXPECT_EQ(b, (Bytes{0xff, 0xfe, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xab, 0xcd,
                      0x3f, 0xf0, 0, 0, 0, 0, 0, 0}));
  WireReader r(b);
  EXPECT_EQ(r.int16(), -2);
  EXPECT_EQ(r.int32(), 0x01020304);
  EXPECT_EQ(r.int64(), -1);
  EXPECT_EQ(r.uint16(), 0xabcd);
  EXPECT_EQ(r.float64(), 1.0);
  EXPECT_TRUE(r.at_end());
}

}  // namespace
}  // namespace samsa::protocol
