// ProducerStateManager on its own: Kafka's outcomes for duplicates, gaps,
// epochs and unknown producers, sequence wrap-around, expiry, and the
// snapshot file format.
#include <filesystem>
#include <fstream>

#include "log_test_util.h"
#include "samsa/log/producer_state.h"
#include "samsa/protocol/crc32c.h"

namespace samsa::log {
namespace {

using protocol::RecordBatchHeader;

RecordBatchHeader batch(int64_t pid, int16_t epoch, int32_t seq, int32_t records, int64_t base_offset,
                        int64_t ts = 1000) {
  RecordBatchHeader h;
  h.producer_id = pid;
  h.producer_epoch = epoch;
  h.base_sequence = seq;
  h.last_offset_delta = records - 1;
  h.records_count = records;
  h.base_offset = base_offset;
  h.max_timestamp = ts;
  return h;
}

struct ProducerStateTest : ::testing::Test {
  test::TempDir tmp;
  ProducerStateManager state{tmp.path(), "t-0", 86'400'000};
  int64_t next_offset = 0;

  // Checks and applies one batch at the next offset; returns the error code.
  std::optional<LogErrc> append(int64_t pid, int16_t epoch, int32_t seq, int32_t records = 2,
                                AppendOrigin origin = AppendOrigin::kClient, int64_t ts = 1000) {
    auto h = batch(pid, epoch, seq, records, next_offset, ts);
    ProducerAppendUpdates updates;
    if (auto err = state.check_and_stage(h, origin, updates)) return err->code;
    next_offset += records;
    state.apply(updates, next_offset);
    return std::nullopt;
  }
  std::optional<ProducerBatch> duplicate(int64_t pid, int16_t epoch, int32_t seq, int32_t records = 2) {
    return state.find_duplicate(batch(pid, epoch, seq, records, 0));
  }
};

TEST_F(ProducerStateTest, InSequenceBatchesAreAccepted) {
  EXPECT_EQ(append(7, 0, 0), std::nullopt);
  EXPECT_EQ(append(7, 0, 2), std::nullopt);
  EXPECT_EQ(append(7, 0, 4, 3), std::nullopt);
  const ProducerStateEntry* e = state.find(7);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->producer_epoch, 0);
  EXPECT_EQ(e->last_seq(), 6);
  EXPECT_EQ(e->last_offset(), 6);
  EXPECT_EQ(state.map_end_offset(), 7);
}

TEST_F(ProducerStateTest, RetriesOfTheLastFiveBatchesAreDuplicates) {
  for (int i = 0; i < 6; ++i) ASSERT_EQ(append(7, 0, 2 * i), std::nullopt);
  // Batches 1..5 (seq 2..11) are retained; batch 0 (seq 0-1) fell out.
  EXPECT_FALSE(duplicate(7, 0, 0));
  for (int i = 1; i < 6; ++i) {
    auto d = duplicate(7, 0, 2 * i);
    ASSERT_TRUE(d) << i;
    EXPECT_EQ(d->first_offset(), 2 * i);
    EXPECT_EQ(d->last_offset, 2 * i + 1);
    EXPECT_EQ(d->first_seq(), 2 * i);
  }
  // Same start, other range: not a duplicate. Other epoch: not either.
  EXPECT_FALSE(duplicate(7, 0, 2, 3));
  EXPECT_FALSE(duplicate(7, 1, 2));
  EXPECT_FALSE(duplicate(8, 0, 2));
  // A too-old batch that is no duplicate is out of order.
  EXPECT_EQ(append(7, 0, 0), LogErrc::kOutOfOrderSequence);
}

TEST_F(ProducerStateTest, GapIsOutOfOrder) {
  ASSERT_EQ(append(7, 0, 0), std::nullopt);
  EXPECT_EQ(append(7, 0, 3), LogErrc::kOutOfOrderSequence);
  EXPECT_EQ(state.find(7)->last_seq(), 1);  // nothing applied
  EXPECT_EQ(append(7, 0, 2), std::nullopt);
}

TEST_F(ProducerStateTest, OldEpochIsFencedNewEpochStartsAtZero) {
  ASSERT_EQ(append(7, 3, 0), std::nullopt);
  EXPECT_EQ(append(7, 2, 2), LogErrc::kInvalidProducerEpoch);
  EXPECT_EQ(append(7, 4, 5), LogErrc::kOutOfOrderSequence);
  EXPECT_EQ(append(7, 4, 0), std::nullopt);
  EXPECT_EQ(state.find(7)->producer_epoch, 4);
  EXPECT_EQ(state.find(7)->batch_count(), 1u);  // the old epoch's batches are forgotten
  EXPECT_EQ(append(7, 3, 2), LogErrc::kInvalidProducerEpoch);
  // Replication keeps whatever the leader wrote.
  EXPECT_EQ(append(7, 3, 2, 2, AppendOrigin::kReplication), std::nullopt);
}

TEST_F(ProducerStateTest, UnknownProducerMayStartAnywhere) {
  // KIP-360: no state (new, expired or below the log start) accepts any sequence.
  EXPECT_EQ(append(9, 5, 42), std::nullopt);
  EXPECT_EQ(append(9, 5, 44), std::nullopt);
}

TEST_F(ProducerStateTest, SequenceWrapsAtIntMax) {
  const int32_t max = std::numeric_limits<int32_t>::max();
  EXPECT_EQ(increment_sequence(max, 1), 0);
  EXPECT_EQ(increment_sequence(max - 1, 3), 1);
  EXPECT_EQ(decrement_sequence(1, 3), max - 1);
  ASSERT_EQ(append(7, 0, max - 1, 2), std::nullopt);  // seq max-1, max
  EXPECT_EQ(append(7, 0, 0, 3), std::nullopt);
  EXPECT_EQ(state.find(7)->last_seq(), 2);
  ASSERT_EQ(append(8, 0, max, 3), std::nullopt);  // max, 0, 1
  EXPECT_TRUE(duplicate(8, 0, max, 3));
  EXPECT_EQ(append(8, 0, 2), std::nullopt);
}

TEST_F(ProducerStateTest, SeveralBatchesOfOneProducerInOneAppend) {
  ASSERT_EQ(append(7, 0, 0), std::nullopt);
  ProducerAppendUpdates updates;
  EXPECT_FALSE(state.check_and_stage(batch(7, 0, 2, 2, 2), AppendOrigin::kClient, updates));
  EXPECT_FALSE(state.check_and_stage(batch(7, 0, 4, 2, 4), AppendOrigin::kClient, updates));
  auto err = state.check_and_stage(batch(7, 0, 7, 2, 6), AppendOrigin::kClient, updates);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code, LogErrc::kOutOfOrderSequence);
}

TEST_F(ProducerStateTest, ExpiryUsesBatchTimestamps) {
  state.set_expiration_ms(1000);
  ASSERT_EQ(append(1, 0, 0, 1, AppendOrigin::kClient, 5000), std::nullopt);
  ASSERT_EQ(append(2, 0, 0, 1, AppendOrigin::kClient, 5500), std::nullopt);
  EXPECT_EQ(state.remove_expired(5999), 0u);
  EXPECT_EQ(state.remove_expired(6000), 1u);
  EXPECT_EQ(state.find(1), nullptr);
  EXPECT_NE(state.find(2), nullptr);
}

TEST_F(ProducerStateTest, SnapshotRoundTripKeepsLastBatch) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(append(7, 2, 2 * i), std::nullopt);
  ASSERT_EQ(append(8, 0, 0, 4), std::nullopt);
  state.take_snapshot(next_offset);
  EXPECT_TRUE(std::filesystem::exists(tmp / "00000000000000000010.snapshot"));

  ProducerStateManager loaded(tmp.path(), "t-0", 86'400'000);
  EXPECT_EQ(loaded.reload(100, 2000), 10);
  EXPECT_EQ(loaded.map_end_offset(), 10);
  const ProducerStateEntry* e = loaded.find(7);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->producer_epoch, 2);
  EXPECT_EQ(e->last_seq(), 5);
  EXPECT_EQ(e->last_offset(), 5);
  EXPECT_EQ(e->batch_count(), 1u);  // a snapshot keeps only the last batch, as Kafka's
  EXPECT_TRUE(loaded.find_duplicate(batch(7, 2, 4, 2, 0)));
  EXPECT_FALSE(loaded.find_duplicate(batch(7, 2, 2, 2, 0)));
  EXPECT_EQ(loaded.find(8)->last_offset(), 9);
}

TEST_F(ProducerStateTest, ReloadSkipsNewerAndCorruptSnapshots) {
  ASSERT_EQ(append(7, 0, 0), std::nullopt);
  state.take_snapshot(2);
  ASSERT_EQ(append(7, 0, 2), std::nullopt);
  state.take_snapshot(4);
  ASSERT_EQ(append(7, 0, 4), std::nullopt);
  state.take_snapshot(6);
  {  // flip a byte inside the entries of the snapshot at 4
    std::fstream f(tmp / "00000000000000000004.snapshot", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('\x55');
  }
  ProducerStateManager loaded(tmp.path(), "t-0", 86'400'000);
  EXPECT_EQ(loaded.reload(5, 2000), 2);  // 6 is past the end, 4 is corrupt
  EXPECT_EQ(list_producer_snapshots(tmp.path()), std::vector<int64_t>{2});
  EXPECT_EQ(loaded.find(7)->last_seq(), 1);
}

TEST_F(ProducerStateTest, ReloadDropsExpiredProducers) {
  ASSERT_EQ(append(7, 0, 0, 1, AppendOrigin::kClient, 1000), std::nullopt);
  state.take_snapshot(1);
  ProducerStateManager loaded(tmp.path(), "t-0", 500);
  EXPECT_EQ(loaded.reload(1, 1600), 1);
  EXPECT_EQ(loaded.find(7), nullptr);
}

TEST(ProducerSnapshotFormat, KafkaLayoutVersionOneWithCrc32c) {
  ProducerSnapshotEntry e{0x0102030405060708, 3, 17, 99, 4, 1234, -1, -1};
  auto bytes = encode_producer_snapshot({e});
  ASSERT_EQ(bytes.size(), 2u + 4 + 4 + 46);
  EXPECT_EQ(bytes[0], 0);
  EXPECT_EQ(bytes[1], 1);  // version 1
  const uint32_t crc = protocol::crc32c(std::span<const uint8_t>(bytes).subspan(6));
  EXPECT_EQ(bytes[2], static_cast<uint8_t>(crc >> 24));
  EXPECT_EQ(bytes[5], static_cast<uint8_t>(crc));
  EXPECT_EQ(bytes[9], 1);     // one entry
  EXPECT_EQ(bytes[10], 0x01);  // producer id, big-endian
  EXPECT_EQ(bytes[17], 0x08);
  EXPECT_EQ(bytes[19], 3);  // epoch
  EXPECT_EQ(bytes[23], 17);  // last sequence
  auto decoded = decode_producer_snapshot(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded.value(), std::vector<ProducerSnapshotEntry>{e});

  auto bad_crc = bytes;
  bad_crc.back() ^= 1;
  EXPECT_EQ(decode_producer_snapshot(bad_crc).error().code, LogErrc::kCorruptMessage);
  auto bad_version = bytes;
  bad_version[1] = 2;
  EXPECT_EQ(decode_producer_snapshot(bad_version).error().code, LogErrc::kCorruptMessage);
  auto truncated = bytes;
  truncated.pop_back();
  EXPECT_EQ(decode_producer_snapshot(truncated).error().code, LogErrc::kCorruptMessage);
}

}  // namespace
}  // namespace samsa::log
