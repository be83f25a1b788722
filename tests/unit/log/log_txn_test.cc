// Transactions in one partition log: transactional batches open a
// transaction, markers end it (with Kafka's fencing checks), the last stable
// offset, the .txnindex of aborted transactions (written, truncated,
// rebuilt by recovery, kept by snapshots) and KIP-890's verification guard.
#include <filesystem>

#include "log_test_util.h"
#include "samsa/protocol/control_records.h"

namespace samsa::log {
namespace {

using test::LogFixture;
namespace fs = std::filesystem;

struct TxnLogTest : LogFixture {
  LogResult<AppendInfo> txn_write(Log& log, int64_t pid, int16_t epoch, int32_t seq, int records = 2,
                                  std::optional<uint64_t> guard = std::nullopt) {
    protocol::RecordBatchOptions o;
    o.producer_id = pid;
    o.producer_epoch = epoch;
    o.base_sequence = seq;
    o.transactional = true;
    auto b = test::make_batch(records, clock->now_ms(), 10, o);
    return log.append_as_leader(b, 0, AppendOrigin::kClient, guard);
  }
  LogResult<AppendInfo> plain_write(Log& log, int64_t pid, int16_t epoch, int32_t seq) {
    protocol::RecordBatchOptions o;
    o.producer_id = pid;
    o.producer_epoch = epoch;
    o.base_sequence = seq;
    auto b = test::make_batch(1, clock->now_ms(), 10, o);
    return log.append_as_leader(b, 0);
  }
  LogResult<AppendInfo> marker(Log& log, int64_t pid, int16_t epoch, bool commit, int32_t coordinator_epoch = 0,
                               AppendOrigin origin = AppendOrigin::kCoordinator) {
    auto b = protocol::build_end_txn_marker(pid, epoch, {commit, coordinator_epoch}, clock->now_ms());
    return log.append_as_leader(b, 0, origin);
  }
  void replicate_all(Log& log) { log.advance_high_watermark(log.log_end_offset()); }
  std::string txn_index_path(int64_t base) const { return segment_path(base, kTxnIndexSuffix); }
};

TEST_F(TxnLogTest, OpenTransactionHoldsTheLastStableOffsetUntilItsMarkerIsReplicated) {
  auto log = open_log();
  append(*log, 3);  // 0-2, no producer
  ASSERT_TRUE(txn_write(*log, 7, 0, 0).ok());  // 3-4
  append(*log, 1);                              // 5
  replicate_all(*log);
  EXPECT_EQ(log->high_watermark(), 6);
  EXPECT_EQ(log->last_stable_offset(), 3);
  EXPECT_TRUE(log->has_ongoing_txn(7));
  EXPECT_TRUE(log->has_ongoing_txn(7, 0));
  EXPECT_FALSE(log->has_ongoing_txn(7, 1));  // a v2 producer's next transaction is not this one
  auto producers = log->active_producers();
  ASSERT_EQ(producers.size(), 1u);
  EXPECT_EQ(producers[0].current_txn_first_offset, 3);

  auto m = marker(*log, 7, 0, /*commit=*/true, 4);  // 6
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->first_offset, 6);
  EXPECT_FALSE(log->has_ongoing_txn(7));
  // The marker is not replicated yet: the transaction still holds it back.
  EXPECT_EQ(log->last_stable_offset(), 3);
  log->advance_high_watermark(7);
  EXPECT_EQ(log->last_stable_offset(), 7);
  EXPECT_EQ(log->active_producers()[0].coordinator_epoch, 4);
  EXPECT_EQ(log->active_producers()[0].current_txn_first_offset, -1);
  EXPECT_TRUE(log->collect_aborted_transactions(0, 7).empty());
  EXPECT_FALSE(fs::exists(txn_index_path(0)));
}

TEST_F(TxnLogTest, LastStableOffsetIsTheOldestOpenTransaction) {
  auto log = open_log();
  ASSERT_TRUE(txn_write(*log, 1, 0, 0).ok());  // 0-1
  ASSERT_TRUE(txn_write(*log, 2, 0, 0).ok());  // 2-3
  replicate_all(*log);
  EXPECT_EQ(log->last_stable_offset(), 0);
  ASSERT_TRUE(marker(*log, 1, 0, true).ok());  // 4
  replicate_all(*log);
  EXPECT_EQ(log->last_stable_offset(), 2);
  ASSERT_TRUE(marker(*log, 2, 0, false).ok());  // 5
  replicate_all(*log);
  EXPECT_EQ(log->last_stable_offset(), 6);
}

TEST_F(TxnLogTest, AbortMarkerWritesKafkasTxnIndexEntry) {
  auto log = open_log();
  ASSERT_TRUE(txn_write(*log, 7, 0, 0).ok());  // 0-1
  ASSERT_TRUE(txn_write(*log, 8, 0, 0).ok());  // 2-3
  ASSERT_TRUE(marker(*log, 7, 0, /*commit=*/false).ok());  // 4
  replicate_all(*log);

  // 34 bytes: version 0, pid 7, first 0, last 4, LSO 2 (producer 8 still open).
  const std::string bytes = test::read_all(txn_index_path(0));
  ASSERT_EQ(bytes.size(), TxnIndex::kEntrySize);
  const std::vector<uint8_t> expected = TxnIndex::encode(AbortedTxn{7, 0, 4, 2});
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()), expected);
  EXPECT_EQ(expected[0], 0);
  EXPECT_EQ(expected[1], 0);
  EXPECT_EQ(expected[9], 7);

  auto aborted = log->collect_aborted_transactions(0, log->last_stable_offset());
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(aborted[0], (AbortedTxn{7, 0, 4, 2}));
  EXPECT_TRUE(log->collect_aborted_transactions(5, 10).empty());
  ASSERT_TRUE(marker(*log, 8, 0, false).ok());  // 5, LSO 6
  EXPECT_EQ(log->collect_aborted_transactions(5, 6).size(), 1u);  // producer 8 only (7 ended at 4)
  EXPECT_EQ(log->collect_aborted_transactions(0, 6).size(), 2u);
}

TEST_F(TxnLogTest, ClientsMayNotWriteMarkers) {
  auto log = open_log();
  ASSERT_TRUE(txn_write(*log, 7, 0, 0).ok());
  auto r = marker(*log, 7, 0, true, 0, AppendOrigin::kClient);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, LogErrc::kInvalidRecord);
  EXPECT_TRUE(log->has_ongoing_txn(7));
}

TEST_F(TxnLogTest, MarkerFencingChecks) {
  auto log = open_log();
  ASSERT_TRUE(txn_write(*log, 7, 3, 0).ok());
  ASSERT_TRUE(marker(*log, 7, 3, true, /*coordinator_epoch=*/5).ok());
  ASSERT_TRUE(txn_write(*log, 7, 3, 2).ok());
  const int64_t leo = log->log_end_offset();
  // A coordinator older than the last marker's is fenced.
  auto old_coordinator = marker(*log, 7, 3, false, 4);
  ASSERT_FALSE(old_coordinator.ok());
  EXPECT_EQ(old_coordinator.error().code, LogErrc::kTransactionCoordinatorFenced);
  // A marker for an older producer epoch is refused.
  auto old_epoch = marker(*log, 7, 2, false, 5);
  ASSERT_FALSE(old_epoch.ok());
  EXPECT_EQ(old_epoch.error().code, LogErrc::kInvalidProducerEpoch);
  EXPECT_EQ(log->log_end_offset(), leo);
  EXPECT_TRUE(log->has_ongoing_txn(7));
  // A newer epoch (a fencing abort, or transactions v2) ends it and moves the epoch.
  ASSERT_TRUE(marker(*log, 7, 4, false, 5).ok());
  EXPECT_FALSE(log->has_ongoing_txn(7));
  EXPECT_EQ(log->active_producers()[0].producer_epoch, 4);
}

TEST_F(TxnLogTest, PlainWriteInsideOpenTransactionIsRefused) {
  auto log = open_log();
  ASSERT_TRUE(txn_write(*log, 7, 0, 0).ok());
  auto r = plain_write(*log, 7, 0, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, LogErrc::kInvalidTxnState);
}

TEST_F(TxnLogTest, OpenTransactionSurvivesCleanAndUncleanRestart) {
  {
    auto log = open_log();
    append(*log, 2);
    ASSERT_TRUE(txn_write(*log, 7, 0, 0).ok());  // 2-3
    log->close();
  }
  {
    auto log = open_log(/*clean=*/true);
    EXPECT_TRUE(log->has_ongoing_txn(7));
    EXPECT_EQ(log->last_stable_offset(), 2);
    ASSERT_TRUE(marker(*log, 7, 0, false).ok());  // 4, no snapshot after it (crash)
  }
  fs::remove(txn_index_path(0));
  for (int64_t o : list_producer_snapshots(log_dir())) fs::remove(producer_snapshot_path(log_dir(), o));
  auto log = open_log(/*clean=*/false);
  EXPECT_FALSE(log->has_ongoing_txn(7));
  EXPECT_EQ(log->last_stable_offset(), 5);
  auto aborted = log->collect_aborted_transactions(0, 5);
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(aborted[0].first_offset, 2);
  EXPECT_EQ(aborted[0].last_offset, 4);
  EXPECT_TRUE(fs::exists(txn_index_path(0)));
}

TEST_F(TxnLogTest, RecoveryRebuildsTxnIndexPastTheSnapshot) {
  {
    auto log = open_log();
    ASSERT_TRUE(txn_write(*log, 7, 0, 0).ok());  // 0-1
    ASSERT_TRUE(marker(*log, 7, 0, false).ok());  // 2
    log->close();  // snapshot at 3, after the marker
  }
  fs::remove(txn_index_path(0));  // the index entry never reached the disk
  auto log = open_log(/*clean=*/false, /*recovery_point=*/0);
  auto aborted = log->collect_aborted_transactions(0, 3);
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(aborted[0], (AbortedTxn{7, 0, 2, 3}));
}

TEST_F(TxnLogTest, TruncationDropsTxnIndexEntriesAndReopensTheTransaction) {
  auto log = open_log();
  ASSERT_TRUE(txn_write(*log, 7, 0, 0).ok());  // 0-1
  ASSERT_TRUE(marker(*log, 7, 0, false).ok());  // 2
  ASSERT_EQ(log->collect_aborted_transactions(0, 3).size(), 1u);
  ASSERT_TRUE(log->truncate_to(2).ok());
  EXPECT_TRUE(log->collect_aborted_transactions(0, 3).empty());
  EXPECT_FALSE(fs::exists(txn_index_path(0)));
  EXPECT_TRUE(log->has_ongoing_txn(7));
  EXPECT_EQ(log->last_stable_offset(), 0);
}

TEST_F(TxnLogTest, TxnIndexGoesWithItsSegment) {
  config.segment_bytes = 400;
  auto log = open_log();
  ASSERT_TRUE(txn_write(*log, 7, 0, 0).ok());
  ASSERT_TRUE(marker(*log, 7, 0, false).ok());
  while (log->segment_base_offsets().size() < 3) append(*log, 3, 50);
  ASSERT_TRUE(fs::exists(txn_index_path(0)));
  replicate_all(*log);
  ASSERT_TRUE(log->delete_records_before(log->segment_base_offsets()[1]).ok());
  EXPECT_FALSE(fs::exists(txn_index_path(0)));
}

TEST_F(TxnLogTest, VerificationGuardMustMatchAndEndsWithTheMarker) {
  auto log = open_log();
  // Verification in force, no guard: refused.
  auto none = txn_write(*log, 7, 0, 0, 2, /*guard=*/0);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, LogErrc::kInvalidTxnState);
  const uint64_t guard = log->start_txn_verification(7);
  EXPECT_EQ(log->start_txn_verification(7), guard);  // in flight together: the same
  ASSERT_TRUE(txn_write(*log, 7, 0, 0, 2, guard).ok());
  ASSERT_TRUE(txn_write(*log, 7, 0, 2, 2, 0).ok());  // the transaction is open: no guard needed
  ASSERT_TRUE(marker(*log, 7, 0, true).ok());
  // A write verified before the marker lands after it: refused (KIP-890).
  auto late = txn_write(*log, 7, 0, 4, 2, guard);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, LogErrc::kInvalidTxnState);
  EXPECT_FALSE(log->has_ongoing_txn(7));
  // Without verification in force, as before.
  ASSERT_TRUE(txn_write(*log, 7, 0, 4).ok());
}

}  // namespace
}  // namespace samsa::log
