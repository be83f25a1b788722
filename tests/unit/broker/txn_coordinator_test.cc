// TransactionCoordinator with a fake __transaction_state and a fake marker
// sender: the API checks, the write-before-answer rule, markers, fencing,
// timeouts, expiry and reloading from the log.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "samsa/broker/txn/transaction_coordinator.h"
#include "txn_coordinator_fixture.h"

namespace samsa::broker::txn {
namespace {

using protocol::ErrorCode;
using txn_test::TxnCoordinatorTest;

TEST_F(TxnCoordinatorTest, InitCommitCycleWritesEveryTransition) {
  auto p = init("tx");
  ASSERT_EQ(p.error, ErrorCode::NONE);
  EXPECT_EQ(p.producer_id, 1000);
  EXPECT_EQ(p.producer_epoch, 0);
  EXPECT_EQ(state("tx"), "Empty");

  EXPECT_EQ(add("tx", p, {{"t", 0}, {"t", 1}}), ErrorCode::NONE);
  EXPECT_EQ(state("tx"), "Ongoing");
  std::vector<ErrorCode> v;
  EXPECT_EQ(coord->verify_partitions("tx", p.producer_id, p.producer_epoch, {{"t", 0}, {"t", 7}}, v), ErrorCode::NONE);
  EXPECT_EQ(v, (std::vector<ErrorCode>{ErrorCode::NONE, ErrorCode::INVALID_TXN_STATE}));

  ErrorCode offsets = ErrorCode::UNKNOWN_SERVER_ERROR;
  coord->add_offsets("tx", p.producer_id, p.producer_epoch, "group", [&](ErrorCode e) { offsets = e; });
  EXPECT_EQ(offsets, ErrorCode::NONE);
  EXPECT_EQ(coord->describe("tx").partitions.size(), 3u);

  EXPECT_EQ(end("tx", p, true), ErrorCode::NONE);
  EXPECT_EQ(state("tx"), "PrepareCommit");
  ASSERT_EQ(markers.jobs.size(), 1u);
  const TxnMarkerJob& job = markers.jobs[0].first;
  EXPECT_TRUE(job.commit);
  EXPECT_EQ(job.producer_id, 1000);
  EXPECT_EQ(job.producer_epoch, 0);
  EXPECT_EQ(job.coordinator_epoch, 5);
  EXPECT_EQ(job.txn_partition, coord->partition_for("tx"));
  EXPECT_EQ(job.partitions.size(), 3u);
  // Verification while the markers go out: wait (Kafka's CONCURRENT_TRANSACTIONS).
  EXPECT_EQ(coord->verify_partitions("tx", p.producer_id, p.producer_epoch, {{"t", 0}}, v),
            ErrorCode::CONCURRENT_TRANSACTIONS);
  EXPECT_EQ(end("tx", p, true), ErrorCode::CONCURRENT_TRANSACTIONS);
  EXPECT_EQ(end("tx", p, false), ErrorCode::INVALID_TXN_STATE);
  markers.finish_all();
  EXPECT_EQ(state("tx"), "CompleteCommit");
  EXPECT_EQ(end("tx", p, true), ErrorCode::NONE);  // retry of a completed commit
  // A late write of the completed transaction: refused.
  EXPECT_EQ(coord->verify_partitions("tx", p.producer_id, p.producer_epoch, {{"t", 0}}, v), ErrorCode::NONE);
  EXPECT_EQ(v, (std::vector<ErrorCode>{ErrorCode::INVALID_TXN_STATE}));

  // Every transition is in the log: Empty, Ongoing x2, PrepareCommit, CompleteCommit.
  auto& log = store.log[coord->partition_for("tx")];
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log.back().record->state, TxnState::kCompleteCommit);
}

TEST_F(TxnCoordinatorTest, ChecksProducerIdEpochAndTimeout) {
  EXPECT_EQ(init("tx", -1, -1, 60001).error, ErrorCode::INVALID_TRANSACTION_TIMEOUT);
  EXPECT_EQ(init("tx", -1, -1, 0).error, ErrorCode::INVALID_TRANSACTION_TIMEOUT);
  auto p = init("tx");
  InitPidResult wrong_pid{ErrorCode::NONE, p.producer_id + 1, p.producer_epoch};
  EXPECT_EQ(add("tx", wrong_pid, {{"t", 0}}), ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  EXPECT_EQ(add("unknown", p, {{"t", 0}}), ErrorCode::INVALID_PRODUCER_ID_MAPPING);
  auto p2 = init("tx");  // a second instance: epoch bump
  EXPECT_EQ(p2.producer_epoch, 1);
  EXPECT_EQ(add("tx", p, {{"t", 0}}), ErrorCode::PRODUCER_FENCED);
  EXPECT_EQ(end("tx", p2, true), ErrorCode::INVALID_TXN_STATE);  // nothing ongoing
}

TEST_F(TxnCoordinatorTest, NewInstanceFencesOngoingTransaction) {
  auto old = init("tx");
  ASSERT_EQ(add("tx", old, {{"t", 0}}), ErrorCode::NONE);
  EXPECT_EQ(init("tx").error, ErrorCode::CONCURRENT_TRANSACTIONS);
  EXPECT_EQ(state("tx"), "PrepareAbort");
  ASSERT_EQ(markers.jobs.size(), 1u);
  EXPECT_FALSE(markers.jobs[0].first.commit);
  EXPECT_EQ(markers.jobs[0].first.producer_epoch, 1);  // the abort carries the bumped epoch
  EXPECT_EQ(init("tx").error, ErrorCode::CONCURRENT_TRANSACTIONS);
  markers.finish_all();
  EXPECT_EQ(state("tx"), "CompleteAbort");
  auto fresh = init("tx");
  ASSERT_EQ(fresh.error, ErrorCode::NONE);
  EXPECT_EQ(fresh.producer_epoch, 2);
  EXPECT_EQ(end("tx", old, true), ErrorCode::PRODUCER_FENCED);
}

TEST_F(TxnCoordinatorTest, Kip360RetryAndFencedExpectedEpoch) {
  auto p = init("tx");
  auto bumped = init("tx", p.producer_id, p.producer_epoch);
  ASSERT_EQ(bumped.error, ErrorCode::NONE);
  EXPECT_EQ(bumped.producer_epoch, 1);
  // The answer got lost; the retry with the old epoch gets the same answer.
  auto retry = init("tx", p.producer_id, p.producer_epoch);
  EXPECT_EQ(retry.error, ErrorCode::NONE);
  EXPECT_EQ(retry.producer_epoch, 1);
  EXPECT_EQ(init("tx", p.producer_id, 7).error, ErrorCode::PRODUCER_FENCED);
}

TEST_F(TxnCoordinatorTest, NothingAnsweredOrAppliedBeforeTheWrite) {
  auto p = init("tx");
  store.hold = true;
  ErrorCode out = ErrorCode::UNKNOWN_SERVER_ERROR;
  coord->add_partitions("tx", p.producer_id, p.producer_epoch, {{"t", 0}}, [&](ErrorCode e) { out = e; });
  EXPECT_EQ(out, ErrorCode::UNKNOWN_SERVER_ERROR);  // not answered yet
  EXPECT_EQ(state("tx"), "Empty");
  EXPECT_EQ(add("tx", p, {{"t", 1}}), ErrorCode::CONCURRENT_TRANSACTIONS);
  store.release();
  EXPECT_EQ(out, ErrorCode::NONE);
  EXPECT_EQ(state("tx"), "Ongoing");

  store.hold = false;
  store.fail_with = ErrorCode::COORDINATOR_NOT_AVAILABLE;
  EXPECT_EQ(end("tx", p, true), ErrorCode::COORDINATOR_NOT_AVAILABLE);
  EXPECT_EQ(state("tx"), "Ongoing");
  EXPECT_TRUE(markers.jobs.empty());
}

TEST_F(TxnCoordinatorTest, TimedOutTransactionIsAbortedWithEpochBump) {
  auto p = init("tx", -1, -1, 10000);
  ASSERT_EQ(add("tx", p, {{"t", 0}}), ErrorCode::NONE);
  clock += 5000;
  coord->abort_timed_out_transactions();
  EXPECT_EQ(state("tx"), "Ongoing");
  clock += 6000;
  coord->abort_timed_out_transactions();
  EXPECT_EQ(state("tx"), "PrepareAbort");
  ASSERT_EQ(markers.jobs.size(), 1u);
  EXPECT_FALSE(markers.jobs[0].first.commit);
  markers.finish_all();
  EXPECT_EQ(state("tx"), "CompleteAbort");
  EXPECT_EQ(end("tx", p, true), ErrorCode::PRODUCER_FENCED);
  EXPECT_EQ(add("tx", p, {{"t", 0}}), ErrorCode::PRODUCER_FENCED);
  // Nor can it come back with KIP-360 as if retrying (Kafka's transactions v1).
  EXPECT_EQ(init("tx", p.producer_id, p.producer_epoch).error, ErrorCode::PRODUCER_FENCED);
}

TEST_F(TxnCoordinatorTest, IdleIdsExpire) {
  ASSERT_EQ(init("tx").error, ErrorCode::NONE);
  clock += 999999;
  coord->remove_expired_ids();
  EXPECT_EQ(state("tx"), "Empty");
  clock += 2;
  coord->remove_expired_ids();
  EXPECT_EQ(coord->describe("tx").error, ErrorCode::TRANSACTIONAL_ID_NOT_FOUND);
  EXPECT_FALSE(store.log[coord->partition_for("tx")].back().record.has_value());  // tombstone
}

TEST_F(TxnCoordinatorTest, ReloadResendsMarkersOfPreparedTransactions) {
  auto p = init("tx");
  ASSERT_EQ(add("tx", p, {{"t", 0}}), ErrorCode::NONE);
  ASSERT_EQ(end("tx", p, false), ErrorCode::NONE);
  ASSERT_EQ(markers.jobs.size(), 1u);
  const int32_t part = coord->partition_for("tx");
  // Leadership lost: the jobs are abandoned, the ids dropped.
  coord->set_leadership({});
  EXPECT_NE(std::find(markers.abandoned.begin(), markers.abandoned.end(), part), markers.abandoned.end());
  EXPECT_EQ(coord->describe("tx").error, ErrorCode::NOT_COORDINATOR);
  markers.jobs[0].second(TxnMarkerOutcome::kAbandoned);
  markers.jobs.clear();
  // Led again (new epoch): replayed, markers resent with the new coordinator epoch.
  coord->set_leadership({{part, 9}});
  coord->await_loads();
  EXPECT_EQ(state("tx"), "PrepareAbort");
  ASSERT_EQ(markers.jobs.size(), 1u);
  EXPECT_EQ(markers.jobs[0].first.coordinator_epoch, 9);
  markers.finish_all();
  EXPECT_EQ(state("tx"), "CompleteAbort");
}

TEST_F(TxnCoordinatorTest, ListFiltersByStateProducerAndDuration) {
  auto a = init("a");
  auto b = init("b");
  ASSERT_EQ(add("a", a, {{"t", 0}}), ErrorCode::NONE);
  clock += 5000;
  auto all = coord->list({}, {}, -1);
  EXPECT_EQ(all.transactions.size(), 2u);
  auto ongoing = coord->list({"Ongoing", "Nope"}, {}, -1);
  ASSERT_EQ(ongoing.transactions.size(), 1u);
  EXPECT_EQ(ongoing.transactions[0].transactional_id, "a");
  EXPECT_EQ(ongoing.unknown_state_filters, std::vector<std::string>{"Nope"});
  EXPECT_EQ(coord->list({}, {b.producer_id}, -1).transactions.size(), 1u);
  EXPECT_EQ(coord->list({}, {}, 4000).transactions.size(), 1u);
  EXPECT_EQ(coord->list({}, {}, 6000).transactions.size(), 0u);
}

TEST_F(TxnCoordinatorTest, NotCoordinatorForPartitionsNotLed) {
  coord->set_leadership({});
  EXPECT_EQ(init("tx").error, ErrorCode::NOT_COORDINATOR);
}

}  // namespace
}  // namespace samsa::broker::txn
