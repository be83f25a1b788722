#include "samsa/protocol/control_records.h"

#include <gtest/gtest.h>

#include "samsa/protocol/decode_error.h"

namespace samsa::protocol {
namespace {

BatchView view_of(const std::vector<uint8_t>& bytes) {
  auto split = split_batches(bytes, true);
  EXPECT_EQ(split.batches.size(), 1u);
  return split.batches.at(0);
}

TEST(ControlRecordsTest, MarkerRoundTripsWithKafkasLayout) {
  const auto bytes = build_end_txn_marker(42, 7, {.commit = true, .coordinator_epoch = 5}, 1'700'000'000'000);
  const auto batch = view_of(bytes);
  EXPECT_TRUE(batch.header.is_control());
  EXPECT_TRUE(batch.header.is_transactional());
  EXPECT_EQ(batch.header.producer_id, 42);
  EXPECT_EQ(batch.header.producer_epoch, 7);
  EXPECT_EQ(batch.header.base_sequence, -1);
  EXPECT_EQ(batch.header.records_count, 1);
  EXPECT_TRUE(verify_crc(batch.bytes));
  auto records = decode_records(batch);
  ASSERT_EQ(records.size(), 1u);
  // Key: version 0, type COMMIT (1); value: version 0, coordinator epoch 5.
  EXPECT_EQ(*records[0].key, (std::vector<uint8_t>{0, 0, 0, 1}));
  EXPECT_EQ(*records[0].value, (std::vector<uint8_t>{0, 0, 0, 0, 0, 5}));
  auto marker = parse_end_txn_marker(batch);
  ASSERT_TRUE(marker);
  EXPECT_EQ(*marker, (EndTxnMarker{.commit = true, .coordinator_epoch = 5}));
}

TEST(ControlRecordsTest, AbortMarkerAndTypes) {
  const auto bytes = build_end_txn_marker(1, 0, {.commit = false, .coordinator_epoch = 0}, 0);
  auto marker = parse_end_txn_marker(view_of(bytes));
  ASSERT_TRUE(marker);
  EXPECT_FALSE(marker->commit);
  const std::vector<uint8_t> leader_change{0, 0, 0, 2}, unknown_version{0, 1, 0, 1}, short_key{0, 0};
  EXPECT_EQ(control_record_type(leader_change), ControlRecordType::kLeaderChange);
  EXPECT_EQ(control_record_type(unknown_version), ControlRecordType::kUnknown);
  EXPECT_EQ(control_record_type(short_key), ControlRecordType::kUnknown);
}

TEST(ControlRecordsTest, DataBatchIsNoMarkerAndShortValueIsRefused) {
  RecordBatchBuilder data;
  const std::vector<uint8_t> v{1, 2, 3};
  data.append(0, std::nullopt, std::span<const uint8_t>(v));
  const auto bytes = data.build();
  EXPECT_FALSE(parse_end_txn_marker(view_of(bytes)));

  RecordBatchOptions options;
  options.control = true;
  options.transactional = true;
  RecordBatchBuilder bad(options);
  const std::vector<uint8_t> key{0, 0, 0, 0}, value{0, 0};
  bad.append(0, std::span<const uint8_t>(key), std::span<const uint8_t>(value));
  const auto bad_bytes = bad.build();
  EXPECT_THROW(parse_end_txn_marker(view_of(bad_bytes)), DecodeError);
}

}  // namespace
}  // namespace samsa::protocol
