#include "samsa/protocol/compression.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>

namespace samsa::protocol {
namespace {

using Bytes = std::vector<uint8_t>;
using CT = CompressionType;
constexpr size_t kNoLimit = std::numeric_limits<size_t>::max();

Bytes bytes_of(std::string_view s) { return {s.begin(), s.end()}; }
Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}
// Text-like data: compresses well but is not a single repeated byte.
Bytes compressible_bytes(size_t n) {
  Bytes b;
  b.reserve(n);
  for (size_t i = 0; b.size() < n; ++i) {
    auto line = "{\"user\":" + std::to_string(i % 97) + ",\"event\":\"click\"}\n";
    b.insert(b.end(), line.begin(), line.end());
  }
  b.resize(n);
  return b;
}
// Half random, half text: truncation points do not land on block edges.
Bytes mixed_bytes(size_t n) {
  return concat(random_bytes(n / 2, 7), compressible_bytes(n - n / 2));
}

// ---- codec round trips, parameterised over the four codecs ---------------------

class CompressionCodec : public ::testing::TestWithParam<CT> {};

INSTANTIATE_TEST_SUITE_P(Compression, CompressionCodec,
                         ::testing::Values(CT::kGzip, CT::kSnappy, CT::kLz4, CT::kZstd),
                         [](const auto& info) {
                           return std::string(compression_name(info.param));
                         });

TEST_P(CompressionCodec, RoundTripsEmptySmallRandomAndCompressible) {
  const Bytes inputs[] = {
      {}, bytes_of("hello samsa"), random_bytes(1 << 20, 1), compressible_bytes(1 << 20)};
  for (const auto& data : inputs) {
    auto packed = compress(GetParam(), data);
    // max_output equal to the exact size is allowed.
    EXPECT_EQ(decompress(GetParam(), packed, data.size()), data) << data.size();
  }
  EXPECT_LT(compress(GetParam(), compressible_bytes(1 << 20)).size(), (1u << 20) / 8);
}

TEST_P(CompressionCodec, AppendsAfterExistingBytes) {
  auto data = mixed_bytes(100000);
  Bytes packed = bytes_of("prefix");
  compress_into(GetParam(), data, packed);
  WireWriter w;
  compress(GetParam(), data, w);
  EXPECT_TRUE(std::equal(packed.begin() + 6, packed.end(), w.view().begin(), w.view().end()));
  Bytes out = bytes_of("xy");
  // The budget covers only the new bytes, not the two already there.
  decompress_into(GetParam(), std::span(packed).subspan(6), data.size(), out);
  EXPECT_EQ(out, concat(bytes_of("xy"), data));
}

TEST_P(CompressionCodec, LevelsRoundTrip) {
  auto data = mixed_bytes(200000);
  if (GetParam() == CT::kSnappy) {
    EXPECT_FALSE(valid_compression_level(CT::kSnappy, 1));
    EXPECT_THROW(compress(CT::kSnappy, data, 1), std::invalid_argument);
    return;
  }
  for (int level : {1, 5, 9}) {
    ASSERT_TRUE(valid_compression_level(GetParam(), level));
    EXPECT_EQ(decompress(GetParam(), compress(GetParam(), data, level), kNoLimit), data) << level;
  }
  EXPECT_FALSE(valid_compression_level(GetParam(), 1000));
  EXPECT_THROW(compress(GetParam(), data, 1000), std::invalid_argument);
}

TEST_P(CompressionCodec, TruncatedInputIsADecodeError) {
  auto packed = compress(GetParam(), mixed_bytes(100000));
  for (size_t cut : {size_t{0}, size_t{1}, size_t{5}, packed.size() / 2, packed.size() - 1}) {
    try {
      decompress(GetParam(), std::span(packed).first(cut), kNoLimit);
      ADD_FAILURE() << "no error for a cut at " << cut;
    } catch (const DecodeError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(std::string(compression_name(GetParam())) + ":", 0), 0u)
          << e.what();
    }
  }
}

TEST_P(CompressionCodec, GarbageIsADecodeError) {
  // Not a gzip/lz4/zstd magic, and an over-long varint for raw snappy.
  Bytes garbage = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  EXPECT_THROW(decompress(GetParam(), garbage, kNoLimit), DecodeError);
}

TEST_P(CompressionCodec, CorruptedBytesNeverCrash) {
  // Without checksums a flipped byte may decode to other bytes; what matters
  // is that every outcome is either data or a DecodeError (run under ASan).
  auto packed = compress(GetParam(), mixed_bytes(20000));
  std::mt19937 rng(42);
  for (int i = 0; i < 300; ++i) {
    Bytes bad = packed;
    for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0; --flips)
      bad[rng() % bad.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    try {
      decompress(GetParam(), bad, 1 << 20);
    } catch (const DecodeError&) {
    }
  }
}

TEST_P(CompressionCodec, DecompressionBombIsRejected) {
  Bytes zeros(8 << 20, 0);
  auto packed = compress(GetParam(), zeros);
  EXPECT_LT(packed.size(), 1u << 20);
  EXPECT_THROW(decompress(GetParam(), packed, 1 << 20), DecodeError);
  EXPECT_THROW(decompress(GetParam(), packed, zeros.size() - 1), DecodeError);
  EXPECT_EQ(decompress(GetParam(), packed, zeros.size()).size(), zeros.size());
}

TEST(CompressionNone, CopiesAndBoundsToo) {
  auto data = bytes_of("plain");
  EXPECT_EQ(compress(CT::kNone, data), data);
  EXPECT_EQ(decompress(CT::kNone, data, 5), data);
  EXPECT_THROW(decompress(CT::kNone, data, 4), DecodeError);
}

// ---- golden frames written by the command-line tools (gzip 1.12, zstd 1.5.4,
// lz4 1.9.4) from "hello samsa" ------------------------------------------------------

const Bytes kGzipGolden = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb,
                           0x48, 0xcd, 0xc9, 0xc9, 0x57, 0x28, 0x4e, 0xcc, 0x2d, 0x4e, 0x04,
                           0x00, 0x2a, 0xde, 0x5f, 0xb2, 0x0b, 0x00, 0x00, 0x00};
// From stdin, so the frame has no content size (decoded in streaming mode).
const Bytes kZstdGolden = {0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x59, 0x00, 0x00, 0x68, 0x65, 0x6c,
                           0x6c, 0x6f, 0x20, 0x73, 0x61, 0x6d, 0x73, 0x61, 0x38, 0x8f, 0x99, 0xe5};
// Independent blocks, content checksum, one uncompressed block.
const Bytes kLz4Golden = {0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7, 0x0b, 0x00, 0x00,
                          0x80, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x73, 0x61, 0x6d,
                          0x73, 0x61, 0x00, 0x00, 0x00, 0x00, 0x1d, 0x69, 0xa4, 0x99};
// Raw snappy by hand: varint length 11, literal tag (11-1)<<2, the bytes.
const Bytes kSnappyRawGolden = concat({0x0b, 0x28}, bytes_of("hello samsa"));

TEST(CompressionGolden, ToolOutputDecodes) {
  auto hello = bytes_of("hello samsa");
  EXPECT_EQ(decompress(CT::kGzip, kGzipGolden, 100), hello);
  EXPECT_EQ(decompress(CT::kZstd, kZstdGolden, 100), hello);
  EXPECT_EQ(decompress(CT::kLz4, kLz4Golden, 100), hello);
  EXPECT_EQ(decompress(CT::kSnappy, kSnappyRawGolden, 100), hello);
}

TEST(CompressionGolden, ConcatenatedStreamsDecodeInFull) {
  auto twice = bytes_of("hello samsahello samsa");
  EXPECT_EQ(decompress(CT::kGzip, concat(kGzipGolden, kGzipGolden), 100), twice);
  EXPECT_EQ(decompress(CT::kZstd, concat(kZstdGolden, kZstdGolden), 100), twice);
  EXPECT_EQ(decompress(CT::kLz4, concat(kLz4Golden, kLz4Golden), 100), twice);
  auto xerial = compress(CT::kSnappy, bytes_of("hello samsa"));
  EXPECT_EQ(decompress(CT::kSnappy, concat(xerial, xerial), 100), twice);
}

TEST(CompressionGolden, GzipIgnoresTrailingJunkButChecksItsCrc) {
  // Like java.util.zip.GZIPInputStream: junk after a member is not an error.
  EXPECT_EQ(decompress(CT::kGzip, concat(kGzipGolden, bytes_of("junk")), 100),
            bytes_of("hello samsa"));
  Bytes bad_crc = kGzipGolden;
  bad_crc[kGzipGolden.size() - 8] ^= 1;
  EXPECT_THROW(decompress(CT::kGzip, bad_crc, 100), DecodeError);
}

TEST(CompressionGolden, SnappyUsesXerialFramingWith32KiBBlocks) {
  EXPECT_EQ(compress(CT::kSnappy, Bytes{}),
            Bytes(std::begin(kXerialSnappyHeader), std::end(kXerialSnappyHeader)));
  const Bytes header = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
  auto data = mixed_bytes(100000);
  auto packed = compress(CT::kSnappy, data);
  ASSERT_TRUE(std::equal(header.begin(), header.end(), packed.begin()));
  // Walk the blocks: each decodes alone to at most 32 KiB, in order.
  size_t pos = 16, blocks = 0;
  Bytes joined;
  while (pos < packed.size()) {
    uint32_t len = (uint32_t{packed[pos]} << 24) | (uint32_t{packed[pos + 1]} << 16) |
                   (uint32_t{packed[pos + 2]} << 8) | packed[pos + 3];
    auto block = decompress(CT::kSnappy, std::span(packed).subspan(pos + 4, len), kNoLimit);
    EXPECT_LE(block.size(), kXerialSnappyBlockSize);
    joined = concat(joined, block);
    pos += 4 + len;
    ++blocks;
  }
  EXPECT_EQ(pos, packed.size());
  EXPECT_EQ(blocks, 4u);  // ceil(100000 / 32768)
  EXPECT_EQ(joined, data);
  // The same raw block inside hand-made xerial framing.
  Bytes framed = concat(header, {0, 0, 0, static_cast<uint8_t>(kSnappyRawGolden.size())});
  EXPECT_EQ(decompress(CT::kSnappy, concat(framed, kSnappyRawGolden), 100),
            bytes_of("hello samsa"));
}

TEST(CompressionGolden, SnappyRejectsLyingLengthsBeforeAllocating) {
  // A raw block claiming 1 GiB in a 6-byte input.
  Bytes claim = {0x80, 0x80, 0x80, 0x80, 0x04, 0x00};
  EXPECT_THROW(decompress(CT::kSnappy, claim, 1 << 20), DecodeError);
  // A xerial block length beyond the input.
  Bytes framed = concat(compress(CT::kSnappy, Bytes{}), {0x00, 0x10, 0x00, 0x00, 0x00});
  EXPECT_THROW(decompress(CT::kSnappy, framed, kNoLimit), DecodeError);
}

TEST(CompressionGolden, Lz4FrameHeaderMatchesKafka) {
  // FLG 0x60: version 1, independent blocks, no checksums or content size;
  // BD 0x40: 64 KiB blocks; then the header checksum liblz4 verifies.
  auto packed = compress(CT::kLz4, mixed_bytes(200000));
  const Bytes prefix = {0x04, 0x22, 0x4d, 0x18, 0x60, 0x40};
  ASSERT_TRUE(std::equal(prefix.begin(), prefix.end(), packed.begin()));
  Bytes bad_hc = packed;
  bad_hc[6] ^= 0x55;
  EXPECT_THROW(decompress(CT::kLz4, bad_hc, kNoLimit), DecodeError);
}

// ---- cross-check against the real tools, when installed ----------------------------

std::string tool_for(CT type) {
  return type == CT::kGzip ? "gzip" : type == CT::kZstd ? "zstd -q" : "lz4 -q";
}

TEST(CompressionTools, ToolsAndCodecsReadEachOther) {
  namespace fs = std::filesystem;
  auto dir = fs::path(::testing::TempDir()) / ("samsa_compression_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto write = [](const fs::path& p, const Bytes& b) {
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  };
  auto read = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
  };
  auto data = mixed_bytes(300000);
  write(dir / "plain", data);
  int tested = 0;
  for (CT type : {CT::kGzip, CT::kZstd, CT::kLz4}) {
    auto tool = tool_for(type);
    auto name = tool.substr(0, tool.find(' '));
    if (std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) != 0) continue;
    ++tested;
    // The tool compresses from a pipe (no content size), we decompress.
    auto cmd = "cat '" + (dir / "plain").string() + "' | " + tool + " -c > '" +
               (dir / "tool").string() + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    EXPECT_EQ(decompress(type, read(dir / "tool"), data.size()), data) << name;
    // We compress, the tool decompresses.
    write(dir / "ours", compress(type, data));
    cmd = tool + " -dc < '" + (dir / "ours").string() + "' > '" + (dir / "back").string() + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    EXPECT_EQ(read(dir / "back"), data) << name;
  }
  fs::remove_all(dir);
  if (tested == 0) GTEST_SKIP() << "none of gzip, zstd, lz4 is installed";
}

// ---- batches -------------------------------------------------------------------------

RecordBatchBuilder sample_builder(int records, size_t value_size = 40) {
  RecordBatchOptions o;
  o.base_offset = 1000;
  o.partition_leader_epoch = 4;
  o.producer_id = 77;
  o.producer_epoch = 2;
  o.base_sequence = 10;
  o.transactional = true;
  o.timestamp_type = TimestampType::kLogAppendTime;
  RecordBatchBuilder b(o);
  std::vector<RecordHeader> headers = {{"trace", bytes_of("abc")}, {"none", std::nullopt}};
  for (int i = 0; i < records; ++i) {
    auto key = bytes_of("key-" + std::to_string(i % 5));
    auto value = compressible_bytes(value_size);
    b.append(5000 + i * 3, i % 4 == 1 ? std::nullopt : std::optional<std::span<const uint8_t>>(key),
             i % 7 == 3 ? std::nullopt : std::optional<std::span<const uint8_t>>(value),
             i % 3 == 0 ? std::span<const RecordHeader>(headers) : std::span<const RecordHeader>());
  }
  return b;
}

BatchView view_of(const Bytes& batch) { return {RecordBatchHeader::parse(batch), batch}; }

// The fields compression must not touch.
void expect_same_identity(const RecordBatchHeader& a, const RecordBatchHeader& b) {
  auto strip = [](RecordBatchHeader h) {
    h.attributes &= static_cast<int16_t>(~RecordBatchHeader::kCompressionMask);
    h.batch_length = 0;
    h.crc = 0;
    return h;
  };
  EXPECT_EQ(strip(a), strip(b));
}

TEST_P(CompressionCodec, CompressedBatchDecodesToTheSameRecords) {
  auto builder = sample_builder(60);
  auto plain = builder.build();
  auto packed = build_compressed_batch(builder, GetParam());
  auto view = view_of(packed);
  EXPECT_TRUE(verify_crc(packed));
  EXPECT_EQ(view.header.compression(), GetParam());
  EXPECT_TRUE(view.header.is_transactional());
  EXPECT_EQ(view.header.timestamp_type(), TimestampType::kLogAppendTime);
  EXPECT_LT(packed.size(), plain.size());
  expect_same_identity(view.header, view_of(plain).header);
  auto expected = decode_records(view_of(plain));
  EXPECT_EQ(decode_batch_records(view, kNoLimit), expected);
  EXPECT_EQ(decode_batch_records(view_of(plain), kNoLimit), expected);
  // Back to uncompressed: byte for byte what the builder wrote.
  EXPECT_EQ(recompress_batch(view, CT::kNone, kNoLimit), plain);
  EXPECT_EQ(uncompressed_records_section(view, kNoLimit),
            Bytes(plain.begin() + RecordBatchHeader::kSize, plain.end()));
}

TEST_P(CompressionCodec, BatchBombAndCorruptionAreDecodeErrors) {
  auto packed = build_compressed_batch(sample_builder(8, 256 << 10), GetParam());
  try {
    decode_batch_records(view_of(packed), 64 << 10);
    ADD_FAILURE() << "bomb accepted";
  } catch (const DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find("record batch at offset 1000"), std::string::npos);
  }
  // Cut the compressed section short (the helpers do not check the CRC).
  Bytes cut(packed.begin(), packed.end() - 10);
  EXPECT_THROW(decode_batch_records({view_of(packed).header, cut}, kNoLimit), DecodeError);
  // A records count that the decompressed data does not back.
  auto header = view_of(packed).header;
  ++header.records_count;
  EXPECT_THROW(decode_batch_records({header, packed}, kNoLimit), DecodeError);
  EXPECT_THROW(recompress_batch({header, packed}, CT::kZstd, kNoLimit), DecodeError);
}

TEST(CompressionBatch, RecompressGzipToZstdKeepsRecordsAndOffsets) {
  auto builder = sample_builder(25);
  auto gz = build_compressed_batch(builder, CT::kGzip, 9);
  auto zs = recompress_batch(view_of(gz), CT::kZstd, kNoLimit);
  auto view = view_of(zs);
  EXPECT_TRUE(verify_crc(zs));
  EXPECT_EQ(view.header.compression(), CT::kZstd);
  EXPECT_EQ(view.header.size_in_bytes(), zs.size());
  EXPECT_EQ(view.header.base_offset, 1000);
  EXPECT_EQ(view.header.last_offset(), 1024);
  EXPECT_EQ(view.header.records_count, 25);
  expect_same_identity(view.header, view_of(gz).header);
  auto records = decode_batch_records(view, kNoLimit);
  EXPECT_EQ(records, decode_batch_records(view_of(gz), kNoLimit));
  for (int i = 0; i < 25; ++i) EXPECT_EQ(records[i].offset_delta, i);
}

TEST(CompressionBatch, EmptyRecordsSectionStaysEmpty) {
  // The log cleaner keeps emptied batches as a bare header that still says
  // which codec the records used.
  auto empty = sample_builder(0).build();
  set_attributes(empty, static_cast<int16_t>(RecordBatchHeader::parse(empty).attributes |
                                             static_cast<int16_t>(CT::kZstd)));
  EXPECT_TRUE(decode_batch_records(view_of(empty), kNoLimit).empty());
  auto as_lz4 = recompress_batch(view_of(empty), CT::kLz4, kNoLimit);
  EXPECT_EQ(as_lz4.size(), RecordBatchHeader::kSize);
  EXPECT_TRUE(verify_crc(as_lz4));
  EXPECT_EQ(build_compressed_batch(sample_builder(0), CT::kSnappy).size(),
            RecordBatchHeader::kSize);
}

TEST(CompressionBatch, RecompressRefusesGarbageRecords) {
  // Well-compressed bytes that are not records must not get a fresh CRC.
  auto plain = sample_builder(2).build();
  auto header = RecordBatchHeader::parse(plain);
  header.attributes = static_cast<int16_t>(header.attributes | static_cast<int16_t>(CT::kGzip));
  auto junk = compress(CT::kGzip, random_bytes(500, 3));
  header.batch_length = static_cast<int32_t>(RecordBatchHeader::kSize - 12 + junk.size());
  WireWriter w;
  header.write(w);
  w.raw(junk);
  auto batch = w.take();
  EXPECT_THROW(decode_batch_records(view_of(batch), kNoLimit), DecodeError);
  EXPECT_THROW(recompress_batch(view_of(batch), CT::kSnappy, kNoLimit), DecodeError);
}

}  // namespace
}  // namespace samsa::protocol
