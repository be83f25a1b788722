// TransactionMetadata transitions and the __transaction_state record codec.
#include <gtest/gtest.h>

#include "samsa/broker/txn/transaction_log.h"
#include "samsa/broker/txn/transaction_metadata.h"
#include "samsa/protocol/decode_error.h"

namespace samsa::broker::txn {
namespace {

using protocol::ErrorCode;

TxnRecord empty_record(int64_t pid, int16_t epoch) {
  TxnRecord r;
  r.producer_id = pid;
  r.producer_epoch = epoch;
  r.txn_timeout_ms = 60000;
  r.state = TxnState::kEmpty;
  return r;
}

TEST(TxnMetadataTest, ValidTransitionsFollowKafka) {
  EXPECT_TRUE(valid_transition(TxnState::kEmpty, TxnState::kOngoing));
  EXPECT_TRUE(valid_transition(TxnState::kOngoing, TxnState::kPrepareCommit));
  EXPECT_TRUE(valid_transition(TxnState::kPrepareCommit, TxnState::kCompleteCommit));
  EXPECT_TRUE(valid_transition(TxnState::kCompleteAbort, TxnState::kOngoing));
  EXPECT_FALSE(valid_transition(TxnState::kEmpty, TxnState::kPrepareCommit));
  EXPECT_FALSE(valid_transition(TxnState::kPrepareCommit, TxnState::kPrepareAbort));
  EXPECT_FALSE(valid_transition(TxnState::kPrepareAbort, TxnState::kCompleteCommit));
  EXPECT_FALSE(valid_transition(TxnState::kOngoing, TxnState::kEmpty));
  EXPECT_EQ(state_name(TxnState::kPrepareEpochFence), "PrepareEpochFence");
  EXPECT_EQ(state_from_name("CompleteAbort"), TxnState::kCompleteAbort);
  EXPECT_FALSE(state_from_name("Bogus").has_value());
}

TEST(TxnMetadataTest, FullCommitCycleAppliesOnlyOnComplete) {
  TransactionMetadata m("tx", empty_record(7, -1));
  auto init = m.prepare_init(-1, 30000, 100);
  ASSERT_TRUE(init.ok());
  EXPECT_EQ(init.target.producer_epoch, 0);
  EXPECT_EQ(m.producer_epoch(), -1);  // not applied before the write completes
  EXPECT_EQ(m.prepare_add_partitions({{"t", 0}}, 101).error, ErrorCode::CONCURRENT_TRANSACTIONS);
  m.complete();
  EXPECT_EQ(m.producer_epoch(), 0);
  EXPECT_EQ(m.last_producer_epoch(), -1);
  EXPECT_EQ(m.current().txn_timeout_ms, 30000);

  auto add = m.prepare_add_partitions({{"t", 0}, {"t", 1}}, 200);
  ASSERT_TRUE(add.ok());
  EXPECT_EQ(add.target.state, TxnState::kOngoing);
  EXPECT_EQ(add.target.txn_start_timestamp_ms, 200);
  m.complete();
  ASSERT_TRUE(m.prepare_add_partitions({{"u", 3}}, 250).ok());
  m.complete();
  EXPECT_EQ(m.current().partitions.size(), 3u);
  EXPECT_EQ(m.current().txn_start_timestamp_ms, 200);  // same transaction

  ASSERT_TRUE(m.prepare_end(true, false, 300).ok());
  m.complete();
  EXPECT_EQ(m.state(), TxnState::kPrepareCommit);
  EXPECT_EQ(m.prepare_add_partitions({{"t", 0}}, 301).error, ErrorCode::INVALID_TXN_STATE);
  ASSERT_TRUE(m.prepare_complete(400).ok());
  m.complete();
  EXPECT_EQ(m.state(), TxnState::kCompleteCommit);
  EXPECT_TRUE(m.current().partitions.empty());
  EXPECT_EQ(m.producer_epoch(), 0);
}

TEST(TxnMetadataTest, FailedWriteLeavesStateAndFenceBumpsEpoch) {
  TransactionMetadata m("tx", empty_record(7, 4));
  ASSERT_TRUE(m.prepare_add_partitions({{"t", 0}}, 1).ok());
  m.abort_pending();
  EXPECT_EQ(m.state(), TxnState::kEmpty);
  EXPECT_FALSE(m.has_pending());
  ASSERT_TRUE(m.prepare_add_partitions({{"t", 0}}, 1).ok());
  m.complete();
  auto fence = m.prepare_end(false, true, 2);
  ASSERT_TRUE(fence.ok());
  EXPECT_EQ(fence.target.state, TxnState::kPrepareAbort);
  EXPECT_EQ(fence.target.producer_epoch, 5);
  m.complete();
  EXPECT_EQ(m.last_producer_epoch(), -1);  // a fenced producer cannot pass for a retry
  EXPECT_EQ(m.prepare_end(true, false, 3).error, ErrorCode::INVALID_TXN_STATE);
}

TEST(TxnMetadataTest, ExhaustedEpochTakesANewProducerId) {
  TransactionMetadata m("tx", empty_record(7, 32766));
  EXPECT_TRUE(m.epoch_exhausted());
  EXPECT_EQ(m.prepare_init(-1, 1000, 1).error, ErrorCode::INVALID_PRODUCER_EPOCH);
  auto t = m.prepare_init(99, 1000, 1);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.target.producer_id, 99);
  EXPECT_EQ(t.target.producer_epoch, 0);
  EXPECT_EQ(t.target.previous_producer_id, 7);
}

TEST(TxnLogTest, RoundTripsRecordsAndTombstones) {
  TxnRecord r = empty_record(42, 3);
  r.state = TxnState::kPrepareCommit;
  r.partitions = {{"a", 0}, {"a", 2}, {"b", 1}};
  r.txn_start_timestamp_ms = 1000;
  r.txn_last_update_timestamp_ms = 2000;
  const auto key = encode_txn_key("my-id");
  const auto value = encode_txn_value(r);
  // Key: int16 version 0, then a classic string.
  ASSERT_GE(key.size(), 4u);
  EXPECT_EQ(key[0], 0);
  EXPECT_EQ(key[1], 0);
  // Value version 0 (no transactions v2).
  EXPECT_EQ(value[0], 0);
  EXPECT_EQ(value[1], 0);
  auto decoded = decode_txn_record(key, std::span<const uint8_t>(value));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->transactional_id, "my-id");
  ASSERT_TRUE(decoded->record.has_value());
  EXPECT_EQ(decoded->record->producer_id, 42);
  EXPECT_EQ(decoded->record->producer_epoch, 3);
  EXPECT_EQ(decoded->record->state, TxnState::kPrepareCommit);
  EXPECT_EQ(decoded->record->partitions, r.partitions);
  EXPECT_EQ(decoded->record->txn_start_timestamp_ms, 1000);
  EXPECT_EQ(decoded->record->txn_last_update_timestamp_ms, 2000);

  auto tomb = decode_txn_record(key, std::nullopt);
  ASSERT_TRUE(tomb.has_value());
  EXPECT_FALSE(tomb->record.has_value());

  std::vector<uint8_t> other_key = key;
  other_key[1] = 5;  // not a TransactionLogKey version we own
  EXPECT_FALSE(decode_txn_record(other_key, std::nullopt).has_value());

  std::vector<uint8_t> bad = value;
  bad.resize(bad.size() / 2);
  EXPECT_THROW(decode_txn_record(key, std::span<const uint8_t>(bad)), protocol::DecodeError);
}

TEST(TxnLogTest, EmptyStateWritesNullPartitions) {
  TxnRecord r = empty_record(1, 0);
  auto value = encode_txn_value(r);
  auto decoded = decode_txn_record(encode_txn_key("x"), std::span<const uint8_t>(value));
  ASSERT_TRUE(decoded && decoded->record);
  EXPECT_TRUE(decoded->record->partitions.empty());
  EXPECT_EQ(decoded->record->state, TxnState::kEmpty);
}

}  // namespace
}  // namespace samsa::broker::txn
