// Produce validation: each bad input maps to its error value and leaves the
// log untouched.
#include "log_test_util.h"

namespace samsa::log {
namespace {

using protocol::RecordBatchHeader;
using test::LogFixture;

struct ValidationTest : LogFixture {
  LogErrc append_error(std::vector<uint8_t> bytes) {
    auto log = open_log();
    auto r = log->append_as_leader(bytes, 0);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(log->log_end_offset(), 0);
    EXPECT_EQ(log->size_in_bytes(), 0u);
    return r.ok() ? LogErrc::kLogClosed : r.error().code;
  }
};

TEST_F(ValidationTest, BadCrcIsCorruptMessage) {
  auto batch = test::make_batch(3, clock->now_ms());
  batch[batch.size() - 1] ^= 0xff;
  EXPECT_EQ(append_error(batch), LogErrc::kCorruptMessage);
}

TEST_F(ValidationTest, CorruptSecondBatchRejectsWholeRequest) {
  auto good = test::make_batch(1, clock->now_ms());
  auto bad = test::make_batch(1, clock->now_ms());
  bad[RecordBatchHeader::kAttributesPos + 5] ^= 1;
  EXPECT_EQ(append_error(test::concat({good, bad})), LogErrc::kCorruptMessage);
}

TEST_F(ValidationTest, TruncatedFramingIsCorruptMessage) {
  auto batch = test::make_batch(3, clock->now_ms());
  batch.resize(batch.size() - 4);
  EXPECT_EQ(append_error(batch), LogErrc::kCorruptMessage);
}

TEST_F(ValidationTest, OldMagicIsUnsupported) {
  auto batch = test::make_batch(1, clock->now_ms());
  batch[RecordBatchHeader::kMagicPos] = 1;
  EXPECT_EQ(append_error(batch), LogErrc::kUnsupportedVersion);
}

TEST_F(ValidationTest, OversizedBatchIsRecordTooLarge) {
  config.max_message_bytes = 500;
  EXPECT_EQ(append_error(test::make_batch(1, clock->now_ms(), 600)), LogErrc::kRecordTooLarge);
}

TEST_F(ValidationTest, RequestLargerThanSegmentIsBatchTooLarge) {
  config.segment_bytes = 1000;
  auto b = test::make_batch(1, clock->now_ms(), 300);
  EXPECT_EQ(append_error(test::concat({b, b, b, b})), LogErrc::kRecordBatchTooLarge);
}

TEST_F(ValidationTest, TimestampsOutsideConfiguredWindow) {
  config.message_timestamp_before_max_ms = 60'000;
  config.message_timestamp_after_max_ms = 1'000;
  EXPECT_EQ(append_error(test::make_batch(1, clock->now_ms() - 60'001)), LogErrc::kInvalidTimestamp);
  EXPECT_EQ(append_error(test::make_batch(1, clock->now_ms() + 1'001)), LogErrc::kInvalidTimestamp);
  auto log = open_log();
  auto oldest = test::make_batch(1, clock->now_ms() - 60'000);
  auto newest = test::make_batch(1, clock->now_ms() + 1'000);
  EXPECT_TRUE(log->append_as_leader(oldest, 0).ok());
  EXPECT_TRUE(log->append_as_leader(newest, 0).ok());
}

TEST_F(ValidationTest, InvalidRecordRules) {
  protocol::RecordBatchOptions nonzero;
  nonzero.base_offset = 5;  // clients must send base offset 0
  EXPECT_EQ(append_error(test::make_batch(1, clock->now_ms(), 10, nonzero)), LogErrc::kInvalidRecord);
  protocol::RecordBatchOptions control;
  control.control = true;
  control.transactional = true;
  EXPECT_EQ(append_error(test::make_batch(1, clock->now_ms(), 10, control)), LogErrc::kInvalidRecord);
  protocol::RecordBatchOptions no_seq;
  no_seq.producer_id = 42;
  no_seq.producer_epoch = 0;
  no_seq.base_sequence = -1;
  EXPECT_EQ(append_error(test::make_batch(1, clock->now_ms(), 10, no_seq)), LogErrc::kInvalidRecord);
  // Zero records: header-only batch with a consistent CRC.
  auto empty = protocol::RecordBatchBuilder().build();
  EXPECT_EQ(append_error(empty), LogErrc::kInvalidRecord);
}

TEST_F(ValidationTest, LogAppendTimeStampsBrokerClock) {
  config.message_timestamp_type = protocol::TimestampType::kLogAppendTime;
  auto log = open_log();
  auto batch = test::make_batch(2, 12345);
  auto r = log->append_as_leader(batch, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->log_append_time, clock->now_ms());
  EXPECT_EQ(r->max_timestamp, clock->now_ms());
  auto bytes = test::read_range(*log->read(0, 1 << 20, false, 2));
  auto views = protocol::split_batches(bytes, true).batches;
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].header.timestamp_type(), protocol::TimestampType::kLogAppendTime);
  EXPECT_EQ(views[0].header.max_timestamp, clock->now_ms());
  EXPECT_TRUE(protocol::verify_crc(views[0].bytes));
}

TEST_F(ValidationTest, ErrorNamesMatchKafka) {
  EXPECT_EQ(log_errc_name(LogErrc::kCorruptMessage), "CORRUPT_MESSAGE");
  EXPECT_EQ(log_errc_name(LogErrc::kOffsetOutOfRange), "OFFSET_OUT_OF_RANGE");
}

}  // namespace
}  // namespace samsa::log
