// TransactionMarkerChannel against loopback leaders that answer
// WriteTxnMarkers by script: markers reach each partition's leader,
// retriable errors and lost leaders are retried (following the image),
// deleted topics count as written, fencing errors and abandon() end a job
// with kAbandoned, and jobs queued for a busy broker share its next request.
#include "samsa/broker/txn/txn_marker_channel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>

#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/write_txn_markers_request.h"
#include "samsa/protocol/gen/write_txn_markers_response.h"
#include "txn_fake_leaders.h"

namespace samsa::broker::txn {
namespace {

using namespace std::chrono_literals;
using protocol::ErrorCode;
using protocol::WriteTxnMarkersRequest;
using protocol::WriteTxnMarkersResponse;
using Leader = txn_test::FakeLeader<WriteTxnMarkersRequest, WriteTxnMarkersResponse>;
using Script = std::function<ErrorCode(const std::string& topic, int32_t partition, int call)>;

// A leader answering every partition with script(topic, partition, call).
std::unique_ptr<Leader> leader(Script script) {
  return std::make_unique<Leader>([script](const WriteTxnMarkersRequest& req, int call) {
    WriteTxnMarkersResponse resp;
    for (const auto& m : req.markers) {
      auto& mr = resp.markers.emplace_back();
      mr.producer_id = m.producer_id;
      for (const auto& t : m.topics) {
        auto& tr = mr.topics.emplace_back();
        tr.name = t.name;
        for (int32_t p : t.partition_indexes) {
          auto& pr = tr.partitions.emplace_back();
          pr.partition_index = p;
          pr.error_code = protocol::code(script(t.name, p, call));
        }
      }
    }
    return resp;
  });
}

ErrorCode ok(const std::string&, int32_t, int) { return ErrorCode::NONE; }

class TxnMarkerChannelTest : public ::testing::Test {
 protected:
  void start(Script script1 = ok, Script script2 = ok) {
    leader1 = leader(std::move(script1));
    leader2 = leader(std::move(script2));
    port1 = server.listen("B1", leader1.get());
    port2 = server.listen("B2", leader2.get());
    server.start();
    image.set_broker(1, port1);
    image.set_broker(2, port2);
    TxnMarkerChannelOptions o;
    o.listener = "INTERNAL";
    o.retry_backoff_ms = 10;
    o.request_timeout_ms = 2000;
    channel = std::make_unique<TransactionMarkerChannel>([this] { return image.current(); }, o);
  }
  void TearDown() override {
    if (leader1) leader1->release(true);
    if (leader2) leader2->release(true);
    if (channel) channel->close();
    server.stop();
  }

  static TxnMarkerJob job(int64_t pid, std::vector<std::pair<std::string, int32_t>> partitions, bool commit = true,
                          int32_t txn_partition = 0) {
    TxnMarkerJob j;
    j.transactional_id = "tx-" + std::to_string(pid);
    j.producer_id = pid;
    j.producer_epoch = 3;
    j.coordinator_epoch = 11;
    j.txn_partition = txn_partition;
    j.commit = commit;
    j.partitions = std::move(partitions);
    return j;
  }

  std::future<TxnMarkerOutcome> send(TxnMarkerJob j) {
    auto promise = std::make_shared<std::promise<TxnMarkerOutcome>>();
    auto calls = std::make_shared<std::atomic<int>>(0);
    auto future = promise->get_future();
    channel->send(std::move(j), [promise, calls](TxnMarkerOutcome o) {
      // `done` runs exactly once: a second call would throw here.
      ASSERT_EQ(calls->fetch_add(1), 0);
      promise->set_value(o);
    });
    return future;
  }

  static std::vector<std::pair<std::string, int32_t>> partitions_of(const WriteTxnMarkersRequest& req) {
    std::vector<std::pair<std::string, int32_t>> out;
    for (const auto& m : req.markers)
      for (const auto& t : m.topics)
        for (int32_t p : t.partition_indexes) out.emplace_back(t.name, p);
    return out;
  }

  txn_test::LoopbackServer server;
  std::unique_ptr<Leader> leader1, leader2;
  uint16_t port1 = 0, port2 = 0;
  txn_test::TestImage image;
  std::unique_ptr<TransactionMarkerChannel> channel;
};

TEST_F(TxnMarkerChannelTest, MarkersReachEveryPartitionsLeader) {
  start();
  image.set_topic("a", {1, 2, 1});
  auto f = send(job(42, {{"a", 0}, {"a", 1}, {"a", 2}}, true));
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), TxnMarkerOutcome::kWritten);
  auto r1 = leader1->requests();
  auto r2 = leader2->requests();
  ASSERT_EQ(r1.size(), 1u);
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_EQ(leader1->versions()[0], 1);
  ASSERT_EQ(r1[0].markers.size(), 1u);
  const auto& m = r1[0].markers[0];
  EXPECT_EQ(m.producer_id, 42);
  EXPECT_EQ(m.producer_epoch, 3);
  EXPECT_EQ(m.coordinator_epoch, 11);
  EXPECT_TRUE(m.transaction_result);
  EXPECT_EQ(partitions_of(r1[0]), (std::vector<std::pair<std::string, int32_t>>{{"a", 0}, {"a", 2}}));
  EXPECT_EQ(partitions_of(r2[0]), (std::vector<std::pair<std::string, int32_t>>{{"a", 1}}));
  EXPECT_EQ(channel->pending_jobs(), 0u);
}

TEST_F(TxnMarkerChannelTest, RetriableErrorsAreRetriedUntilWritten) {
  start([](const std::string&, int32_t p, int call) {
    if (call == 0) return ErrorCode::NOT_ENOUGH_REPLICAS;
    if (call == 1 && p == 1) return ErrorCode::REQUEST_TIMED_OUT;
    return ErrorCode::NONE;
  });
  image.set_topic("a", {1, 1});
  auto f = send(job(7, {{"a", 0}, {"a", 1}}, false));
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), TxnMarkerOutcome::kWritten);
  auto r = leader1->requests();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(partitions_of(r[1]).size(), 2u);
  // Only the partition still missing its marker is asked again.
  EXPECT_EQ(partitions_of(r[2]), (std::vector<std::pair<std::string, int32_t>>{{"a", 1}}));
  EXPECT_FALSE(r[0].markers[0].transaction_result);
}

TEST_F(TxnMarkerChannelTest, FollowsTheLeaderWhenItMoves) {
  start([](const std::string&, int32_t, int) { return ErrorCode::NOT_LEADER_OR_FOLLOWER; });
  image.set_topic("a", {1});
  auto f = send(job(5, {{"a", 0}}));
  ASSERT_TRUE(leader1->wait_for_requests(2));
  EXPECT_EQ(f.wait_for(0ms), std::future_status::timeout);
  image.set_topic("a", {2});
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), TxnMarkerOutcome::kWritten);
  EXPECT_EQ(leader2->count(), 1u);
}

TEST_F(TxnMarkerChannelTest, WaitsForALeaderAndForItsEndpoint) {
  start();
  image.set_topic("a", {-1});
  auto f = send(job(5, {{"a", 0}}));
  EXPECT_EQ(f.wait_for(100ms), std::future_status::timeout);
  image.set_topic("a", {3});  // broker 3 is not registered yet
  EXPECT_EQ(f.wait_for(100ms), std::future_status::timeout);
  image.set_broker(3, port2);
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), TxnMarkerOutcome::kWritten);
  EXPECT_EQ(leader1->count(), 0u);
  EXPECT_EQ(leader2->count(), 1u);
}

TEST_F(TxnMarkerChannelTest, PartitionsOfDeletedTopicsCountAsWritten) {
  start([](const std::string& t, int32_t, int) {
    return t == "gone" ? ErrorCode::UNKNOWN_TOPIC_OR_PARTITION : ErrorCode::NONE;
  });
  image.set_topic("a", {1});
  image.set_topic("gone", {1});
  auto f = send(job(9, {{"a", 0}, {"gone", 0}, {"never", 4}}));
  ASSERT_TRUE(leader1->wait_for_requests(2));
  EXPECT_EQ(f.wait_for(0ms), std::future_status::timeout);
  image.remove_topic("gone");
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), TxnMarkerOutcome::kWritten);
  for (const auto& r : leader1->requests())
    for (const auto& tp : partitions_of(r)) EXPECT_NE(tp.first, "never");
}

TEST_F(TxnMarkerChannelTest, FencingErrorsAbandonTheJob) {
  start([](const std::string& t, int32_t p, int) {
    if (p == 0) return ErrorCode::NONE;
    return t == "c" ? ErrorCode::TRANSACTION_COORDINATOR_FENCED : ErrorCode::INVALID_PRODUCER_EPOCH;
  });
  image.set_topic("c", {1, 1});
  image.set_topic("e", {1, 1});
  auto fc = send(job(5, {{"c", 0}, {"c", 1}}));
  ASSERT_EQ(fc.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(fc.get(), TxnMarkerOutcome::kAbandoned);
  auto fe = send(job(6, {{"e", 0}, {"e", 1}}));
  ASSERT_EQ(fe.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(fe.get(), TxnMarkerOutcome::kAbandoned);
  EXPECT_EQ(leader1->count(), 2u);  // neither is retried
  EXPECT_EQ(channel->pending_jobs(), 0u);
}

TEST_F(TxnMarkerChannelTest, AbandonEndsOnlyThatTxnPartitionsJobs) {
  start();
  image.set_topic("a", {-1});  // nobody leads: the jobs wait
  auto f1 = send(job(1, {{"a", 0}}, true, 4));
  auto f2 = send(job(2, {{"a", 0}}, true, 5));
  auto f3 = send(job(3, {{"a", 0}}, false, 4));
  EXPECT_EQ(f1.wait_for(50ms), std::future_status::timeout);
  channel->abandon(4);
  ASSERT_EQ(f1.wait_for(1s), std::future_status::ready);
  ASSERT_EQ(f3.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(f1.get(), TxnMarkerOutcome::kAbandoned);
  EXPECT_EQ(f3.get(), TxnMarkerOutcome::kAbandoned);
  EXPECT_EQ(f2.wait_for(50ms), std::future_status::timeout);
  EXPECT_EQ(channel->pending_jobs(), 1u);
  image.set_topic("a", {1});
  ASSERT_EQ(f2.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f2.get(), TxnMarkerOutcome::kWritten);
  // Only the surviving job's marker was ever sent.
  for (const auto& r : leader1->requests())
    for (const auto& m : r.markers) EXPECT_EQ(m.producer_id, 2);
}

TEST_F(TxnMarkerChannelTest, JobsQueuedBehindAnInFlightRequestShareTheNext) {
  start();
  image.set_topic("a", {1, 1});
  leader1->hold(true);
  auto f1 = send(job(1, {{"a", 0}}));
  ASSERT_TRUE(leader1->wait_for_requests(1));
  auto f2 = send(job(2, {{"a", 0}}));
  auto f3 = send(job(3, {{"a", 1}}));
  auto f4 = send(job(2, {{"a", 1}}));  // producer 2 again: answers are keyed by producer id, so it waits
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(leader1->count(), 1u);  // one request in flight per broker
  leader1->hold(false);
  leader1->release();
  for (auto* f : {&f1, &f2, &f3, &f4}) {
    ASSERT_EQ(f->wait_for(5s), std::future_status::ready);
    EXPECT_EQ(f->get(), TxnMarkerOutcome::kWritten);
  }
  auto r = leader1->requests();
  ASSERT_EQ(r.size(), 3u);
  std::set<int64_t> pids;
  for (const auto& m : r[1].markers) pids.insert(m.producer_id);
  EXPECT_EQ(pids, (std::set<int64_t>{2, 3}));  // jobs 2 and 3 together
  ASSERT_EQ(r[2].markers.size(), 1u);
  EXPECT_EQ(r[2].markers[0].producer_id, 2);
  EXPECT_EQ(partitions_of(r[2]), (std::vector<std::pair<std::string, int32_t>>{{"a", 1}}));
}

TEST_F(TxnMarkerChannelTest, LostConnectionsAreRetried) {
  start();
  image.set_topic("a", {1});
  leader1->hold(true);
  auto f = send(job(8, {{"a", 0}}));
  ASSERT_TRUE(leader1->wait_for_requests(1));
  leader1->hold(false);
  leader1->release(true);  // the connection drops without an answer
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), TxnMarkerOutcome::kWritten);
  EXPECT_EQ(leader1->count(), 2u);
}

TEST_F(TxnMarkerChannelTest, CloseAbandonsPendingJobsAndLaterSends) {
  start();
  image.set_topic("a", {-1});
  auto f1 = send(job(1, {{"a", 0}}));
  channel->close();
  ASSERT_EQ(f1.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(f1.get(), TxnMarkerOutcome::kAbandoned);
  auto f2 = send(job(2, {{"a", 0}}));
  ASSERT_EQ(f2.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(f2.get(), TxnMarkerOutcome::kAbandoned);
}

}  // namespace
}  // namespace samsa::broker::txn
