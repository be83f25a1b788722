// TxnVerificationManager against loopback coordinators answering
// AddPartitionsToTxn v4 by script: the request goes to the leader of the
// id's __transaction_state partition with verify_only, answers map to the
// codes a Produce answer carries, and verifications queued behind an
// in-flight request share the next one (merging or fencing per id).
#include "samsa/broker/txn/txn_verification_manager.h"

#include <gtest/gtest.h>

#include <future>

#include "samsa/broker/group/coordinator_records.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/add_partitions_to_txn_request.h"
#include "samsa/protocol/gen/add_partitions_to_txn_response.h"
#include "txn_fake_leaders.h"

namespace samsa::broker::txn {
namespace {

using namespace std::chrono_literals;
using protocol::AddPartitionsToTxnRequest;
using protocol::AddPartitionsToTxnResponse;
using protocol::ErrorCode;
using Coordinator = txn_test::FakeLeader<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>;
using Errors = std::vector<ErrorCode>;
// Per (transactional id, topic, partition): the partition's answer.
using Script = std::function<ErrorCode(const std::string& id, const std::string& topic, int32_t partition)>;

std::unique_ptr<Coordinator> coordinator(Script script, ErrorCode top = ErrorCode::NONE) {
  return std::make_unique<Coordinator>([script, top](const AddPartitionsToTxnRequest& req, int) {
    AddPartitionsToTxnResponse resp;
    resp.error_code = protocol::code(top);
    if (top != ErrorCode::NONE) return resp;
    for (const auto& t : req.transactions) {
      auto& r = resp.results_by_transaction.emplace_back();
      r.transactional_id = t.transactional_id;
      for (const auto& topic : t.topics) {
        auto& tr = r.topic_results.emplace_back();
        tr.name = topic.name;
        for (int32_t p : topic.partitions) {
          auto& pr = tr.results_by_partition.emplace_back();
          pr.partition_index = p;
          pr.partition_error_code = protocol::code(script(t.transactional_id, topic.name, p));
        }
      }
    }
    return resp;
  });
}

ErrorCode verified(const std::string&, const std::string&, int32_t) { return ErrorCode::NONE; }

class TxnVerificationManagerTest : public ::testing::Test {
 protected:
  void start(std::unique_ptr<Coordinator> c1, std::unique_ptr<Coordinator> c2 = coordinator(verified)) {
    coord1 = std::move(c1);
    coord2 = std::move(c2);
    image.set_broker(1, server.listen("B1", coord1.get()));
    image.set_broker(2, server.listen("B2", coord2.get()));
    server.start();
    image.set_topic("__transaction_state", {1});
    TxnVerificationOptions o;
    o.listener = "INTERNAL";
    o.request_timeout_ms = 2000;
    manager = std::make_unique<TxnVerificationManager>([this] { return image.current(); }, o);
  }
  void TearDown() override {
    if (coord1) coord1->release(true);
    if (coord2) coord2->release(true);
    if (manager) manager->close();
    server.stop();
  }

  std::future<Errors> verify(const std::string& id, int16_t epoch, std::vector<std::pair<std::string, int32_t>> tps,
                             int64_t pid = 1000) {
    auto promise = std::make_shared<std::promise<Errors>>();
    auto future = promise->get_future();
    manager->verify(TxnVerifyRequest{id, pid, epoch, std::move(tps)},
                    [promise](Errors e) { promise->set_value(std::move(e)); });
    return future;
  }
  static Errors get(std::future<Errors>& f) {
    EXPECT_EQ(f.wait_for(5s), std::future_status::ready);
    return f.wait_for(0s) == std::future_status::ready ? f.get() : Errors{};
  }

  txn_test::LoopbackServer server;
  std::unique_ptr<Coordinator> coord1, coord2;
  txn_test::TestImage image;
  std::unique_ptr<TxnVerificationManager> manager;
};

TEST_F(TxnVerificationManagerTest, AsksTheCoordinatorWithVerifyOnly) {
  start(coordinator([](const std::string&, const std::string& topic, int32_t p) {
    return topic == "a" && p == 1 ? ErrorCode::INVALID_TXN_STATE : ErrorCode::NONE;
  }));
  auto f = verify("tx", 4, {{"a", 0}, {"a", 1}, {"b", 2}}, 77);
  EXPECT_EQ(get(f), (Errors{ErrorCode::NONE, ErrorCode::INVALID_TXN_STATE, ErrorCode::NONE}));
  auto reqs = coord1->requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(coord1->versions()[0], 4);
  ASSERT_EQ(reqs[0].transactions.size(), 1u);
  const auto& t = reqs[0].transactions[0];
  EXPECT_EQ(t.transactional_id, "tx");
  EXPECT_EQ(t.producer_id, 77);
  EXPECT_EQ(t.producer_epoch, 4);
  EXPECT_TRUE(t.verify_only);
  ASSERT_EQ(t.topics.size(), 2u);
  EXPECT_EQ(t.topics[0].name, "a");
  EXPECT_EQ(t.topics[0].partitions, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(t.topics[1].name, "b");
  EXPECT_EQ(t.topics[1].partitions, (std::vector<int32_t>{2}));
}

TEST_F(TxnVerificationManagerTest, TransactionsV2AddsInsteadOfVerifying) {
  start(coordinator(verified));
  auto promise = std::make_shared<std::promise<Errors>>();
  auto f = promise->get_future();
  manager->verify(TxnVerifyRequest{"tx", 77, 3, {{"a", 0}}, /*add_partitions=*/true},
                  [promise](Errors e) { promise->set_value(std::move(e)); });
  EXPECT_EQ(get(f), (Errors{ErrorCode::NONE}));
  auto reqs = coord1->requests();
  ASSERT_EQ(reqs.size(), 1u);
  ASSERT_EQ(reqs[0].transactions.size(), 1u);
  EXPECT_FALSE(reqs[0].transactions[0].verify_only);
}

TEST_F(TxnVerificationManagerTest, GoesToTheLeaderOfTheIdsTransactionStatePartition) {
  start(coordinator(verified), coordinator(verified));
  image.set_topic("__transaction_state", {1, 2});
  // Two ids, one hashing to each partition.
  std::string on1, on2;
  for (int i = 0; on1.empty() || on2.empty(); ++i) {
    std::string id = "id-" + std::to_string(i);
    (group::partition_for(id, 2) == 0 ? on1 : on2) = id;
  }
  auto f1 = verify(on1, 0, {{"a", 0}});
  auto f2 = verify(on2, 0, {{"a", 0}});
  EXPECT_EQ(get(f1), Errors{ErrorCode::NONE});
  EXPECT_EQ(get(f2), Errors{ErrorCode::NONE});
  ASSERT_EQ(coord1->count(), 1u);
  ASSERT_EQ(coord2->count(), 1u);
  EXPECT_EQ(coord1->requests()[0].transactions[0].transactional_id, on1);
  EXPECT_EQ(coord2->requests()[0].transactions[0].transactional_id, on2);
}

TEST_F(TxnVerificationManagerTest, CoordinatorErrorsBecomeProduceErrors) {
  start(coordinator([](const std::string&, const std::string& topic, int32_t) {
    if (topic == "fenced") return ErrorCode::PRODUCER_FENCED;
    if (topic == "busy") return ErrorCode::CONCURRENT_TRANSACTIONS;
    if (topic == "epoch") return ErrorCode::INVALID_PRODUCER_EPOCH;
    return ErrorCode::NONE;
  }));
  auto f = verify("tx", 1, {{"fenced", 0}, {"busy", 0}, {"epoch", 0}, {"ok", 0}});
  EXPECT_EQ(get(f), (Errors{ErrorCode::INVALID_PRODUCER_EPOCH, ErrorCode::NOT_ENOUGH_REPLICAS,
                            ErrorCode::INVALID_PRODUCER_EPOCH, ErrorCode::NONE}));
}

TEST_F(TxnVerificationManagerTest, TopLevelErrorsAnswerEveryPartition) {
  start(coordinator(verified, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS),
        coordinator(verified, ErrorCode::CLUSTER_AUTHORIZATION_FAILED));
  auto f1 = verify("tx", 1, {{"a", 0}, {"a", 1}});
  EXPECT_EQ(get(f1), (Errors{ErrorCode::NOT_ENOUGH_REPLICAS, ErrorCode::NOT_ENOUGH_REPLICAS}));
  image.set_topic("__transaction_state", {2});
  auto f2 = verify("tx", 1, {{"a", 0}});
  EXPECT_EQ(get(f2), Errors{ErrorCode::INVALID_TXN_STATE});
}

TEST_F(TxnVerificationManagerTest, NoCoordinatorOrNoAnswerIsRetriableForTheProducer) {
  start(coordinator(verified));
  image.remove_topic("__transaction_state");
  auto f1 = verify("tx", 1, {{"a", 0}});
  EXPECT_EQ(get(f1), Errors{ErrorCode::NOT_ENOUGH_REPLICAS});
  image.set_topic("__transaction_state", {-1});
  auto f2 = verify("tx", 1, {{"a", 0}});
  EXPECT_EQ(get(f2), Errors{ErrorCode::NOT_ENOUGH_REPLICAS});
  image.set_topic("__transaction_state", {1});
  coord1->hold(true);
  auto f3 = verify("tx", 1, {{"a", 0}});
  ASSERT_TRUE(coord1->wait_for_requests(1));
  coord1->release(true);  // connection lost
  EXPECT_EQ(get(f3), Errors{ErrorCode::NOT_ENOUGH_REPLICAS});
  EXPECT_EQ(coord1->count(), 1u);
}

TEST_F(TxnVerificationManagerTest, PartitionsTheCoordinatorLeftOutAreNotVerified) {
  start(std::make_unique<Coordinator>([](const AddPartitionsToTxnRequest& req, int) {
    AddPartitionsToTxnResponse resp;
    auto& r = resp.results_by_transaction.emplace_back();
    r.transactional_id = req.transactions[0].transactional_id;
    auto& tr = r.topic_results.emplace_back();
    tr.name = "a";
    tr.results_by_partition.emplace_back().partition_index = 0;
    return resp;
  }));
  auto f = verify("tx", 1, {{"a", 0}, {"a", 1}});
  EXPECT_EQ(get(f), (Errors{ErrorCode::NONE, ErrorCode::NOT_ENOUGH_REPLICAS}));
}

TEST_F(TxnVerificationManagerTest, QueuedVerificationsShareTheNextRequest) {
  start(coordinator(verified));
  coord1->hold(true);
  auto first = verify("A", 1, {{"a", 0}});
  ASSERT_TRUE(coord1->wait_for_requests(1));
  auto b1 = verify("B", 2, {{"a", 0}});
  auto b2 = verify("B", 2, {{"a", 1}, {"a", 0}});  // same producer and epoch: merged
  auto c = verify("C", 0, {{"b", 3}});
  auto d5 = verify("D", 5, {{"a", 0}});
  auto d4 = verify("D", 4, {{"a", 0}});  // older than the queued epoch 5
  EXPECT_EQ(get(d4), Errors{ErrorCode::INVALID_PRODUCER_EPOCH});
  auto d6 = verify("D", 6, {{"a", 2}});  // newer: the queued epoch 5 is fenced
  EXPECT_EQ(get(d5), Errors{ErrorCode::INVALID_PRODUCER_EPOCH});
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(coord1->count(), 1u);  // one request in flight per coordinator
  coord1->hold(false);
  coord1->release();
  EXPECT_EQ(get(first), Errors{ErrorCode::NONE});
  EXPECT_EQ(get(b1), Errors{ErrorCode::NONE});
  EXPECT_EQ(get(b2), (Errors{ErrorCode::NONE, ErrorCode::NONE}));
  EXPECT_EQ(get(c), Errors{ErrorCode::NONE});
  EXPECT_EQ(get(d6), Errors{ErrorCode::NONE});
  auto reqs = coord1->requests();
  ASSERT_EQ(reqs.size(), 2u);
  ASSERT_EQ(reqs[1].transactions.size(), 3u);
  std::map<std::string, const AddPartitionsToTxnRequest::AddPartitionsToTxnTransaction*> by_id;
  for (const auto& t : reqs[1].transactions) by_id[t.transactional_id] = &t;
  ASSERT_TRUE(by_id.contains("B") && by_id.contains("C") && by_id.contains("D"));
  ASSERT_EQ(by_id["B"]->topics.size(), 1u);
  EXPECT_EQ(by_id["B"]->topics[0].partitions, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(by_id["D"]->producer_epoch, 6);
  EXPECT_EQ(by_id["D"]->topics[0].partitions, (std::vector<int32_t>{2}));
}

TEST_F(TxnVerificationManagerTest, CloseAnswersEverything) {
  start(coordinator(verified));
  coord1->hold(true);
  auto f1 = verify("A", 1, {{"a", 0}});
  ASSERT_TRUE(coord1->wait_for_requests(1));
  auto f2 = verify("B", 1, {{"a", 0}});
  manager->close();
  EXPECT_EQ(get(f1), Errors{ErrorCode::NOT_ENOUGH_REPLICAS});
  EXPECT_EQ(get(f2), Errors{ErrorCode::NOT_ENOUGH_REPLICAS});
  auto f3 = verify("C", 1, {{"a", 0}});
  EXPECT_EQ(get(f3), Errors{ErrorCode::NOT_ENOUGH_REPLICAS});
  EXPECT_TRUE(verify("D", 1, {}).get().empty());
}

}  // namespace
}  // namespace samsa::broker::txn
