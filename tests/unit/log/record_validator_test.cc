// Per-record validation (Kafka's LogValidator.validateRecord): keys in
// compacted topics, record timestamps, and the records of a batch (compressed
// or not) against its header's count and offsets.
#include "samsa/log/record_validator.h"

#include "log_test_util.h"
#include "samsa/log/batch_validator.h"
#include "samsa/protocol/compression.h"

namespace samsa::log {
namespace {

using protocol::BatchView;
using protocol::CompressionType;
using protocol::Record;
using protocol::RecordBatchHeader;

constexpr int64_t kNow = 1'700'000'000'000;

std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

// A batch of records given as (key or none, timestamp), compressed by `codec`.
std::vector<uint8_t> batch_of(const std::vector<std::pair<std::optional<std::string>, int64_t>>& recs,
                              CompressionType codec = CompressionType::kNone) {
  protocol::RecordBatchBuilder b;
  auto value = bytes_of("value");
  for (const auto& [key, ts] : recs) {
    if (key) {
      auto k = bytes_of(*key);
      b.append(ts, std::span<const uint8_t>(k), std::span<const uint8_t>(value));
    } else {
      b.append(ts, std::nullopt, std::span<const uint8_t>(value));
    }
  }
  return protocol::build_compressed_batch(b, codec);
}

// Rewrites header fields of a whole batch and reseals it with a valid CRC, as
// a producer that means it would send it.
std::vector<uint8_t> patched(std::vector<uint8_t> batch, void (*edit)(RecordBatchHeader&)) {
  auto h = RecordBatchHeader::parse(batch);
  edit(h);
  protocol::WireWriter w;
  h.write(w);
  std::copy(w.view().begin(), w.view().end(), batch.begin());
  auto crc = protocol::compute_batch_crc(batch);
  for (int i = 0; i < 4; ++i) batch[RecordBatchHeader::kCrcPos + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  EXPECT_TRUE(protocol::verify_crc(batch));
  return batch;
}

LogResult<RecordScan> scan(const std::vector<uint8_t>& batch, RecordRules rules) {
  return scan_records(BatchView{RecordBatchHeader::parse(batch), batch}, rules);
}

RecordRules rules(bool compacted = false) {
  RecordRules r;
  r.compacted = compacted;
  r.now_ms = kNow;
  r.partition = "events-3";
  return r;
}

TEST(RecordValidator, KeylessRecordInCompactedTopicIsNamedByIndex) {
  auto batch = batch_of({{"a", kNow}, {std::nullopt, kNow}, {"c", kNow}});
  auto r = scan(batch, rules(true));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].batch_index, 1);
  EXPECT_EQ(r->errors[0].message,
            "Compacted topic cannot accept message without key in topic partition events-3.");
  EXPECT_FALSE(r->timestamp_error);

  LogError e = record_errors_error(r.value());
  EXPECT_EQ(e.code, LogErrc::kInvalidRecord);
  EXPECT_EQ(e.record_errors.size(), 1u);
  EXPECT_EQ(e.message,
            "One or more records have been rejected due to 1 record errors in total, and only "
            "showing the first three errors at most: [RecordError(batchIndex=1, message='Compacted "
            "topic cannot accept message without key in topic partition events-3.')]");

  // The same batch is fine for a topic that is not compacted.
  auto plain = scan(batch, rules(false));
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->errors.empty());
}

TEST(RecordValidator, EveryOffendingRecordIsListedSummaryShowsThree) {
  std::vector<std::pair<std::optional<std::string>, int64_t>> recs(5, {std::nullopt, kNow});
  recs[2].first = "k";
  auto r = scan(batch_of(recs, CompressionType::kLz4), rules(true));
  ASSERT_TRUE(r.ok());
  std::vector<int32_t> indexes;
  for (const auto& e : r->errors) indexes.push_back(e.batch_index);
  EXPECT_EQ(indexes, (std::vector<int32_t>{0, 1, 3, 4}));
  LogError e = record_errors_error(r.value());
  EXPECT_NE(e.message.find("due to 4 record errors"), std::string::npos);
  EXPECT_NE(e.message.find("batchIndex=3"), std::string::npos);
  EXPECT_EQ(e.message.find("batchIndex=4"), std::string::npos) << e.message;
}

TEST(RecordValidator, EachRecordTimestampIsChecked) {
  RecordRules window = rules();
  window.before_max_ms = 60'000;
  window.after_max_ms = 1'000;
  // First and last records in range (so are the header's base and max): only
  // the middle one is too old.
  auto batch = batch_of({{"a", kNow}, {"b", kNow - 60'001}, {"c", kNow + 1'000}});
  auto r = scan(batch, window);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].batch_index, 1);
  EXPECT_TRUE(r->timestamp_error);
  EXPECT_EQ(r->errors[0].message, "Timestamp " + std::to_string(kNow - 60'001) +
                                      " of message with offset 1 is out of range. The timestamp "
                                      "should be within [" + std::to_string(kNow - 60'000) + ", " +
                                      std::to_string(kNow + 1'000) + "]");
  LogError e = record_errors_error(r.value());
  EXPECT_EQ(e.code, LogErrc::kInvalidTimestamp);
  EXPECT_EQ(e.message, "One or more records have been rejected due to invalid timestamp");

  // -1 means "no timestamp" and is exempt; the edges are inclusive.
  auto edges = scan(batch_of({{"a", kNow - 60'000}, {"b", kNow + 1'000}}), window);
  ASSERT_TRUE(edges.ok());
  EXPECT_TRUE(edges->errors.empty());
  EXPECT_EQ(edges->max_timestamp, kNow + 1'000);
  EXPECT_EQ(edges->offset_delta_of_max, 1);
}

TEST(RecordValidator, TimestampsOfCompressedRecordsAreChecked) {
  RecordRules window = rules();
  window.after_max_ms = 0;
  auto r = scan(batch_of({{"a", kNow}, {"b", kNow + 5}}, CompressionType::kZstd), window);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].batch_index, 1);
}

TEST(RecordValidator, CountLargerThanRecordsIsInvalidRecord) {
  for (auto codec : {CompressionType::kNone, CompressionType::kGzip, CompressionType::kSnappy}) {
    auto batch = patched(batch_of({{"a", kNow}, {"b", kNow}}, codec), [](RecordBatchHeader& h) {
      h.records_count = 3;
      h.last_offset_delta = 2;
    });
    auto r = scan(batch, rules());
    ASSERT_FALSE(r.ok()) << static_cast<int>(codec);
    EXPECT_EQ(r.error().code, LogErrc::kInvalidRecord);
    EXPECT_NE(r.error().message.find("premature EOF"), std::string::npos) << r.error().message;
  }
}

TEST(RecordValidator, CountSmallerThanRecordsIsInvalidRecord) {
  for (auto codec : {CompressionType::kNone, CompressionType::kLz4, CompressionType::kZstd}) {
    auto batch = patched(batch_of({{"a", kNow}, {"b", kNow}, {"c", kNow}}, codec),
                         [](RecordBatchHeader& h) {
                           h.records_count = 2;
                           h.last_offset_delta = 1;
                         });
    auto r = scan(batch, rules());
    ASSERT_FALSE(r.ok()) << static_cast<int>(codec);
    EXPECT_EQ(r.error().code, LogErrc::kInvalidRecord);
    EXPECT_NE(r.error().message.find("records still remaining"), std::string::npos);
  }
}

TEST(RecordValidator, InnerOffsetsMustCountFromZero) {
  for (auto codec : {CompressionType::kNone, CompressionType::kGzip}) {
    protocol::RecordBatchOptions o;
    o.base_timestamp = kNow;
    protocol::RecordBatchBuilder b(o);
    auto k = bytes_of("k");
    for (int32_t delta : {0, 2, 1}) {  // a count of 3 and lastOffsetDelta 2, but shuffled
      Record rec;
      rec.offset_delta = delta;
      rec.key = k;
      b.append(rec);
    }
    auto batch = protocol::build_compressed_batch(b, codec);
    ASSERT_EQ(RecordBatchHeader::parse(batch).last_offset_delta, 2);
    auto r = scan(batch, rules());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, LogErrc::kInvalidRecord);
    EXPECT_NE(r.error().message.find("offset delta 2, expected 1"), std::string::npos)
        << r.error().message;
  }
}

TEST(RecordValidator, UndecodableCompressedDataIsCorruptMessage) {
  auto batch = batch_of({{"a", kNow}, {"b", kNow}}, CompressionType::kGzip);
  // Garble the compressed payload (not its header) and reseal the CRC.
  for (size_t i = RecordBatchHeader::kSize + 10; i < batch.size(); ++i) batch[i] = 0x5a;
  batch = patched(batch, [](RecordBatchHeader&) {});
  auto r = scan(batch, rules());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, LogErrc::kCorruptMessage);
}

TEST(RecordValidator, MalformedRecordIsInvalidRecord) {
  auto batch = batch_of({{"a", kNow}});
  // The record's length varint (first byte after the header) claims one byte
  // less than its fields use.
  batch[RecordBatchHeader::kSize] = static_cast<uint8_t>(batch[RecordBatchHeader::kSize] - 2);
  batch.pop_back();
  batch = patched(batch, [](RecordBatchHeader& h) { h.batch_length -= 1; });
  auto r = scan(batch, rules());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, LogErrc::kInvalidRecord);
}

// ---- through the log: the whole batch is refused, nothing is written -------

struct RecordValidationLogTest : test::LogFixture {};

TEST_F(RecordValidationLogTest, KeylessRecordRefusedInCompactedLog) {
  config.cleanup_policy = "compact";
  auto log = open_log();
  auto bad = batch_of({{"a", clock->now_ms()}, {std::nullopt, clock->now_ms()}},
                      CompressionType::kSnappy);
  auto r = log->append_as_leader(bad, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, LogErrc::kInvalidRecord);
  ASSERT_EQ(r.error().record_errors.size(), 1u);
  EXPECT_EQ(r.error().record_errors[0].batch_index, 1);
  EXPECT_NE(r.error().message.find("topic partition topic-0"), std::string::npos);
  EXPECT_EQ(log->log_end_offset(), 0);
  EXPECT_EQ(log->size_in_bytes(), 0u);

  auto good = batch_of({{"a", clock->now_ms()}, {"b", clock->now_ms()}}, CompressionType::kSnappy);
  auto ok = log->append_as_leader(good, 0);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->first_offset, 0);
  EXPECT_EQ(log->log_end_offset(), 2);
}

TEST_F(RecordValidationLogTest, HeaderMaxTimestampIsTakenFromRecords) {
  const int64_t now = clock->now_ms();
  auto log = open_log();
  // The producer's header claims a max timestamp none of its records has.
  auto batch = patched(batch_of({{"a", now - 5}, {"b", now - 2}, {"c", now - 9}}),
                       [](RecordBatchHeader& h) { h.max_timestamp = 42; });
  auto r = log->append_as_leader(batch, 0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->max_timestamp, now - 2);
  auto stored = test::read_range(*log->read(0, 1 << 20, false, 3));
  auto views = protocol::split_batches(stored, true).batches;
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].header.max_timestamp, now - 2);
  EXPECT_EQ(views[0].header.timestamp_type(), protocol::TimestampType::kCreateTime);
  EXPECT_TRUE(protocol::verify_crc(views[0].bytes));
}

}  // namespace
}  // namespace samsa::log
