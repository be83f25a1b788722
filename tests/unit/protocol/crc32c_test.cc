#include "samsa/protocol/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string_view>
#include <vector>

namespace samsa::protocol {
namespace {

std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Checks both implementations, so a vector failing tells which one is wrong.
void expect_crc(std::span<const uint8_t> data, uint32_t expected) {
  EXPECT_EQ(crc32c(data), expected);
  EXPECT_EQ(crc32c_portable(0, data), expected);
}

TEST(Crc32c, CheckValue) { expect_crc(as_bytes("123456789"), 0xE3069283u); }

TEST(Crc32c, Empty) { expect_crc({}, 0u); }

// RFC 3720 appendix B.4.
TEST(Crc32c, Rfc3720Vectors) {
  std::vector<uint8_t> buf(32, 0x00);
  expect_crc(buf, 0x8A9136AAu);
  std::fill(buf.begin(), buf.end(), 0xFF);
  expect_crc(buf, 0x62A8AB43u);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(i);
  expect_crc(buf, 0x46DD794Eu);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(31 - i);
  expect_crc(buf, 0x113FDB5Cu);
  const std::vector<uint8_t> iscsi_read = {
      0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  expect_crc(iscsi_read, 0xD9963A56u);
}

TEST(Crc32c, ExtendEqualsWhole) {
  auto data = as_bytes("The quick brown fox jumps over the lazy dog");
  uint32_t whole = crc32c(data);
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    EXPECT_EQ(crc32c_extend(crc32c(data.first(cut)), data.subspan(cut)), whole) << cut;
    EXPECT_EQ(crc32c_portable(crc32c_portable(0, data.first(cut)), data.subspan(cut)), whole)
        << cut;
  }
}

// Hardware and table paths agree for every length and misalignment, which
// covers the head/8-byte/tail split of both loops.
TEST(Crc32c, HardwareMatchesPortable) {
  std::mt19937 rng(12345);
  std::vector<uint8_t> buf(300 + 16);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t len = 0; len + offset <= buf.size() && len <= 300; ++len) {
      std::span<const uint8_t> s(buf.data() + offset, len);
      ASSERT_EQ(crc32c(s), crc32c_portable(0, s)) << "offset " << offset << " len " << len;
      ASSERT_EQ(crc32c_extend(0x12345678u, s), crc32c_portable(0x12345678u, s));
    }
  }
  if (!crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2: only the portable path ran";
}

// The interleaved paths (three streams over 3 x 128 and 3 x 1024 byte
// blocks, joined by shift tables) agree with the table code on lengths
// around each block boundary, at every misalignment, and on a batch-sized
// buffer, from both a zero and a non-zero starting CRC.
TEST(Crc32c, InterleavedBlocksMatchPortable) {
  std::mt19937 rng(777);
  std::vector<uint8_t> buf(20000 + 16);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  std::vector<size_t> lengths = {20000, 16 * 1024 + 37};
  for (size_t edge : {size_t{384}, size_t{768}, size_t{3072}, size_t{3072 + 384}, size_t{6144}})
    for (size_t d = 0; d < 10; ++d) {
      lengths.push_back(edge + d);
      lengths.push_back(edge - d);
    }
  for (size_t offset = 0; offset < 8; ++offset)
    for (size_t len : lengths) {
      std::span<const uint8_t> s(buf.data() + offset, len);
      ASSERT_EQ(crc32c(s), crc32c_portable(0, s)) << "offset " << offset << " len " << len;
      ASSERT_EQ(crc32c_extend(0xDEADBEEFu, s), crc32c_portable(0xDEADBEEFu, s)) << len;
    }
  std::vector<uint8_t> zeros(5000, 0);
  ASSERT_EQ(crc32c(zeros), crc32c_portable(0, zeros));
}

}  // namespace
}  // namespace samsa::protocol
