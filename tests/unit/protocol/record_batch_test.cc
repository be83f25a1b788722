#include "samsa/protocol/record_batch.h"

#include <gtest/gtest.h>

#include <random>
#include <string_view>

#include "samsa/protocol/crc32c.h"

namespace samsa::protocol {
namespace {

std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }
std::span<const uint8_t> span_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::vector<uint8_t> sample_batch(int64_t base_offset = 100, int records = 3) {
  RecordBatchOptions o;
  o.base_offset = base_offset;
  o.partition_leader_epoch = 5;
  o.producer_id = 42;
  o.producer_epoch = 3;
  o.base_sequence = 7;
  o.transactional = true;
  RecordBatchBuilder b(o);
  std::vector<RecordHeader> headers = {{"h1", bytes_of("x")}, {"h2", std::nullopt}};
  for (int i = 0; i < records; ++i) {
    std::string value = "value-" + std::to_string(i);
    b.append(1000 + 10 * i, i == 1 ? std::nullopt : std::optional(span_of("key")), span_of(value),
             i == 2 ? std::span<const RecordHeader>(headers) : std::span<const RecordHeader>());
  }
  return b.build();
}

TEST(RecordBatch, BuildParseRoundTrip) {
  auto batch = sample_batch();
  auto split = split_batches(batch, /*require_complete=*/true);
  ASSERT_EQ(split.batches.size(), 1u);
  EXPECT_EQ(split.valid_bytes, batch.size());
  const auto& h = split.batches[0].header;
  EXPECT_EQ(h.base_offset, 100);
  EXPECT_EQ(h.size_in_bytes(), batch.size());
  EXPECT_EQ(h.partition_leader_epoch, 5);
  EXPECT_EQ(h.magic, 2);
  EXPECT_EQ(h.compression(), CompressionType::kNone);
  EXPECT_EQ(h.timestamp_type(), TimestampType::kCreateTime);
  EXPECT_TRUE(h.is_transactional());
  EXPECT_FALSE(h.is_control());
  EXPECT_EQ(h.last_offset_delta, 2);
  EXPECT_EQ(h.last_offset(), 102);
  EXPECT_EQ(h.next_offset(), 103);
  EXPECT_EQ(h.base_timestamp, 1000);
  EXPECT_EQ(h.max_timestamp, 1020);
  EXPECT_EQ(h.producer_id, 42);
  EXPECT_EQ(h.producer_epoch, 3);
  EXPECT_EQ(h.base_sequence, 7);
  EXPECT_EQ(h.records_count, 3);
  EXPECT_TRUE(verify_crc(batch));

  auto records = decode_records(split.batches[0]);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].key, bytes_of("key"));
  EXPECT_EQ(records[1].key, std::nullopt);
  EXPECT_EQ(records[2].value, bytes_of("value-2"));
  EXPECT_EQ(records[2].timestamp_delta, 20);
  EXPECT_EQ(records[2].offset_delta, 2);
  ASSERT_EQ(records[2].headers.size(), 2u);
  EXPECT_EQ(records[2].headers[0], (RecordHeader{"h1", bytes_of("x")}));
  EXPECT_EQ(records[2].headers[1], (RecordHeader{"h2", std::nullopt}));

  // Header write is the inverse of parse.
  WireWriter w;
  h.write(w);
  ASSERT_EQ(w.size(), RecordBatchHeader::kSize);
  EXPECT_TRUE(std::equal(w.view().begin(), w.view().end(), batch.begin()));
}

// The bytes below were laid out by hand from the format in record_batch.h;
// the CRC was computed with an independent bitwise CRC-32C.
TEST(RecordBatch, GoldenTinyBatch) {
  const std::vector<uint8_t> golden = {
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // baseOffset 0
      0x00, 0x00, 0x00, 0x3a,                          // batchLength 58 = 70 - 12
      0xff, 0xff, 0xff, 0xff,                          // partitionLeaderEpoch -1
      0x02,                                            // magic
      0xe9, 0x9b, 0x8d, 0xd8,                          // crc
      0x00, 0x00,                                      // attributes
      0x00, 0x00, 0x00, 0x00,                          // lastOffsetDelta 0
      0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,  // baseTimestamp 1700000000000
      0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,  // maxTimestamp
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // producerId -1
      0xff, 0xff,                                      // producerEpoch -1
      0xff, 0xff, 0xff, 0xff,                          // baseSequence -1
      0x00, 0x00, 0x00, 0x01,                          // recordsCount 1
      0x10,                                            // record length 8 (zig-zag 16)
      0x00,                                            // attributes
      0x00,                                            // timestampDelta 0
      0x00,                                            // offsetDelta 0
      0x02, 'k',                                       // key length 1, "k"
      0x02, 'v',                                       // value length 1, "v"
      0x00,                                            // headers count 0
  };
  ASSERT_EQ(golden.size(), 70u);
  EXPECT_EQ(crc32c(std::span(golden).subspan(21)), 0xE99B8DD8u);

  RecordBatchBuilder b;
  b.append(1700000000000, span_of("k"), span_of("v"));
  EXPECT_EQ(b.build(), golden);
  EXPECT_TRUE(verify_crc(golden));

  auto h = RecordBatchHeader::parse(golden);
  EXPECT_EQ(h.crc, 0xE99B8DD8u);
  auto records = decode_records(BatchView{h, golden});
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0], (Record{0, 0, bytes_of("k"), bytes_of("v"), {}}));
}

TEST(RecordBatch, FlippingAnyByteInCrcRangeFailsVerification) {
  auto batch = sample_batch();
  for (size_t i = RecordBatchHeader::kCrcPos; i < batch.size(); ++i) {
    auto copy = batch;
    copy[i] ^= 0x01;
    EXPECT_FALSE(verify_crc(copy)) << "byte " << i;
  }
  // baseOffset and partitionLeaderEpoch are outside the CRC on purpose.
  for (size_t i : {0u, 7u, 12u, 15u}) {
    auto copy = batch;
    copy[i] ^= 0xff;
    EXPECT_TRUE(verify_crc(copy)) << "byte " << i;
  }
  // A span that is not exactly one batch never verifies.
  EXPECT_FALSE(verify_crc(std::span(batch).first(batch.size() - 1)));
  EXPECT_FALSE(verify_crc(std::span(batch).first(20)));
}

TEST(RecordBatch, InPlaceEditsOutsideCrcKeepIt) {
  auto batch = sample_batch();
  uint32_t crc_before = RecordBatchHeader::parse(batch).crc;
  set_base_offset(batch, 1234567890123);
  set_partition_leader_epoch(batch, 77);
  auto h = RecordBatchHeader::parse(batch);
  EXPECT_EQ(h.base_offset, 1234567890123);
  EXPECT_EQ(h.partition_leader_epoch, 77);
  EXPECT_EQ(h.crc, crc_before);
  EXPECT_TRUE(verify_crc(batch));
}

TEST(RecordBatch, InPlaceEditsInsideCrcRecomputeIt) {
  auto batch = sample_batch();
  set_max_timestamp(batch, TimestampType::kLogAppendTime, 999999);
  auto h = RecordBatchHeader::parse(batch);
  EXPECT_EQ(h.timestamp_type(), TimestampType::kLogAppendTime);
  EXPECT_EQ(h.max_timestamp, 999999);
  EXPECT_TRUE(h.is_transactional());  // other attribute bits untouched
  EXPECT_TRUE(verify_crc(batch));

  set_max_timestamp(batch, TimestampType::kCreateTime, 5);
  EXPECT_EQ(RecordBatchHeader::parse(batch).timestamp_type(), TimestampType::kCreateTime);
  EXPECT_TRUE(verify_crc(batch));

  set_attributes(batch, RecordBatchHeader::kControlBit);
  h = RecordBatchHeader::parse(batch);
  EXPECT_TRUE(h.is_control());
  EXPECT_FALSE(h.is_transactional());
  EXPECT_TRUE(verify_crc(batch));

  // CRC-recomputing edits insist on exactly one batch.
  EXPECT_THROW(set_attributes(std::span(batch).first(batch.size() - 1), 0), DecodeError);
  EXPECT_THROW(set_base_offset(std::span(batch).first(60), 0), DecodeError);
}

TEST(RecordBatch, SplitStopsAtTruncatedTail) {
  std::vector<uint8_t> buffer;
  std::vector<size_t> ends;  // byte offset where each batch ends
  for (int i = 0; i < 3; ++i) {
    auto b = sample_batch(i * 3, i + 1);
    buffer.insert(buffer.end(), b.begin(), b.end());
    ends.push_back(buffer.size());
  }
  for (size_t cut = 0; cut <= buffer.size(); ++cut) {
    std::span<const uint8_t> part(buffer.data(), cut);
    auto r = split_batches(part, /*require_complete=*/false);
    size_t complete = 0;
    while (complete < ends.size() && ends[complete] <= cut) ++complete;
    size_t valid = complete ? ends[complete - 1] : 0;
    ASSERT_EQ(r.batches.size(), complete) << cut;
    ASSERT_EQ(r.valid_bytes, valid) << cut;
    bool at_boundary = valid == cut;
    EXPECT_EQ(r.stop, at_boundary ? BatchIterator::Stop::kEnd : BatchIterator::Stop::kIncomplete);
    for (size_t i = 0; i < complete; ++i) {
      EXPECT_EQ(r.batches[i].header.base_offset, static_cast<int64_t>(i * 3));
      EXPECT_TRUE(verify_crc(r.batches[i].bytes));
    }
    if (at_boundary)
      EXPECT_NO_THROW(split_batches(part, true));
    else
      EXPECT_THROW(split_batches(part, true), DecodeError);
  }
}

TEST(RecordBatch, SplitRejectsImpossibleHeaders) {
  auto good = sample_batch();
  auto with_tail = [&](std::vector<uint8_t> tail) {
    auto buf = good;
    buf.insert(buf.end(), tail.begin(), tail.end());
    return buf;
  };
  struct Case {
    std::vector<uint8_t> tail;
    BatchIterator::Stop stop;
  };
  const std::vector<Case> cases = {
      // Huge length: just "incomplete", and nothing is allocated for it.
      {{0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 2},
       BatchIterator::Stop::kIncomplete},
      {{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, BatchIterator::Stop::kCorrupt},  // -1
      {{0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0}, BatchIterator::Stop::kCorrupt},  // INT32_MIN
      {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 48}, BatchIterator::Stop::kCorrupt},    // < header
      {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1},
       BatchIterator::Stop::kCorrupt},  // magic 1
      {{0, 0, 0, 0, 0}, BatchIterator::Stop::kIncomplete},
  };
  for (const auto& c : cases) {
    auto buf = with_tail(c.tail);
    auto r = split_batches(buf, false);
    EXPECT_EQ(r.batches.size(), 1u);
    EXPECT_EQ(r.valid_bytes, good.size());
    EXPECT_EQ(r.stop, c.stop);
    EXPECT_THROW(split_batches(buf, true), DecodeError);
  }
  BatchIterator it(std::span<const uint8_t>{});
  EXPECT_FALSE(it.next());
  EXPECT_EQ(it.stop(), BatchIterator::Stop::kEnd);
}

TEST(RecordBatch, HeaderParseErrors) {
  auto batch = sample_batch();
  EXPECT_THROW(RecordBatchHeader::parse(std::span(batch).first(60)), DecodeError);
  auto old = batch;
  old[RecordBatchHeader::kMagicPos] = 1;
  EXPECT_THROW(RecordBatchHeader::parse(old), DecodeError);
  auto short_len = batch;
  short_len[RecordBatchHeader::kBatchLengthPos + 3] = 48;
  short_len[RecordBatchHeader::kBatchLengthPos + 2] = 0;
  EXPECT_THROW(RecordBatchHeader::parse(short_len), DecodeError);
}

TEST(RecordBatch, CompressedBatchesAreRejectedClearly) {
  auto batch = sample_batch();
  set_attributes(batch, static_cast<int16_t>(CompressionType::kZstd));
  auto view = BatchView{RecordBatchHeader::parse(batch), batch};
  try {
    decode_records(view);
    FAIL() << "expected DecodeError";
  } catch (const DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find("zstd"), std::string::npos) << e.what();
  }
}

TEST(RecordBatch, RecordsCountMustMatchData) {
  auto batch = sample_batch();
  auto decode_with_count = [&](uint32_t count) {
    auto copy = batch;
    for (int i = 0; i < 4; ++i) copy[57 + i] = static_cast<uint8_t>(count >> (24 - 8 * i));
    return decode_records(BatchView{RecordBatchHeader::parse(copy), copy});
  };
  EXPECT_EQ(decode_with_count(3).size(), 3u);
  EXPECT_THROW(decode_with_count(2), DecodeError);           // bytes left over
  EXPECT_THROW(decode_with_count(4), DecodeError);           // runs out
  EXPECT_THROW(decode_with_count(0x7fffffff), DecodeError);  // no giant reserve
  EXPECT_THROW(decode_with_count(0xffffffff), DecodeError);  // negative
}

TEST(RecordBatch, RecordEncodeDecodeRoundTrip) {
  Record r;
  r.timestamp_delta = -123456789012;
  r.offset_delta = 300;
  r.key = std::nullopt;
  r.value = std::vector<uint8_t>(1000, 0xab);
  r.headers = {{"", std::vector<uint8_t>{}}, {"trace", std::nullopt}};
  WireWriter w;
  r.encode(w);
  WireReader in(w.view());
  EXPECT_EQ(static_cast<size_t>(in.varint()), r.body_size());
  EXPECT_EQ(in.remaining(), r.body_size());
  WireReader again(w.view());
  EXPECT_EQ(Record::decode(again), r);
  EXPECT_TRUE(again.at_end());
}

TEST(RecordBatch, ExplicitDeltasAndEmptyBatch) {
  RecordBatchOptions o;
  o.base_timestamp = 5000;
  o.control = true;
  RecordBatchBuilder b(o);
  b.append(Record{7, 0, bytes_of("a"), std::nullopt, {}});
  b.append(Record{3, 4, std::nullopt, bytes_of("b"), {}});
  auto batch = b.build();
  auto h = RecordBatchHeader::parse(batch);
  EXPECT_TRUE(h.is_control());
  EXPECT_EQ(h.base_timestamp, 5000);
  EXPECT_EQ(h.max_timestamp, 5007);
  EXPECT_EQ(h.last_offset_delta, 4);
  EXPECT_TRUE(verify_crc(batch));

  auto empty = RecordBatchBuilder().build();
  ASSERT_EQ(empty.size(), RecordBatchHeader::kSize);
  EXPECT_TRUE(verify_crc(empty));
  auto view = BatchView{RecordBatchHeader::parse(empty), empty};
  EXPECT_TRUE(decode_records(view).empty());
}

// Random corruption must only ever surface as DecodeError or a failed CRC.
TEST(RecordBatch, FuzzedInputNeverCrashes) {
  std::mt19937 rng(7);
  auto base = sample_batch();
  for (int iter = 0; iter < 3000; ++iter) {
    auto buf = base;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) buf[rng() % buf.size()] = static_cast<uint8_t>(rng());
    buf.resize(rng() % (buf.size() + 1));
    auto r = split_batches(buf, false);
    EXPECT_LE(r.valid_bytes, buf.size());
    for (const auto& v : r.batches) {
      (void)verify_crc(v.bytes);
      try {
        (void)decode_records(v);
      } catch (const DecodeError&) {
      }
    }
  }
}

}  // namespace
}  // namespace samsa::protocol
