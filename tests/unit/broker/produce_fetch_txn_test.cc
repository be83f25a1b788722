// The partition side of transactions through the real handlers: transactional
// produces, markers written as the coordinator writes them, read_committed
// fetches bounded by the last stable offset with their aborted transactions,
// ListOffsets by isolation level, and KIP-890 verification in the produce
// path (a write verified before its transaction's marker is refused after it).
#include <future>

#include "produce_fetch_fixture.h"
#include "samsa/broker/txn/txn_verifier.h"
#include "samsa/protocol/control_records.h"

namespace samsa::broker {
namespace {

constexpr int16_t kFetchVersion = 16;
constexpr int16_t kProduceVersion = 9;

// Holds each verification until the test answers it.
struct HeldVerifier : txn::TxnVerifier {
  std::mutex mu;
  std::vector<std::pair<txn::TxnVerifyRequest, std::function<void(std::vector<ErrorCode>)>>> calls;
  void verify(txn::TxnVerifyRequest request, std::function<void(std::vector<ErrorCode>)> done) override {
    std::lock_guard lock(mu);
    calls.emplace_back(std::move(request), std::move(done));
  }
  size_t count() {
    std::lock_guard lock(mu);
    return calls.size();
  }
  void answer(size_t i, ErrorCode e) {
    std::function<void(std::vector<ErrorCode>)> done;
    size_t n;
    {
      std::lock_guard lock(mu);
      done = calls.at(i).second;
      n = calls.at(i).first.partitions.size();
    }
    done(std::vector<ErrorCode>(n, e));
  }
};

class TxnProduceFetchTest : public ProduceFetchTest {
 protected:
  static std::vector<uint8_t> txn_batch(int64_t pid, int16_t epoch, int32_t seq, int n, const std::string& prefix) {
    protocol::RecordBatchOptions o;
    o.producer_id = pid;
    o.producer_epoch = epoch;
    o.base_sequence = seq;
    o.transactional = true;
    protocol::RecordBatchBuilder b(o);
    for (int i = 0; i < n; ++i) {
      std::string v = prefix + std::to_string(i);
      b.append(1000 + i, std::nullopt, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
    }
    return b.build();
  }
  std::shared_ptr<Pending> send_txn(const std::vector<uint8_t>& bytes) {
    auto req = produce_req(bytes);
    req.transactional_id = "tx";
    return send(0, kProduceVersion, req);
  }
  ErrorCode produce_txn(const std::vector<uint8_t>& bytes) {
    auto p = send_txn(bytes);
    EXPECT_TRUE(p->wait(std::chrono::seconds(5)));
    auto resp = decode<protocol::ProduceResponse>(*p->reply, 0, kProduceVersion);
    return static_cast<ErrorCode>(resp.responses.at(0).partition_responses.at(0).error_code);
  }
  // As WriteTxnMarkers appends it: coordinator origin, acks=all.
  ErrorCode write_marker(int64_t pid, int16_t epoch, bool commit) {
    std::promise<ErrorCode> done;
    pm->append_records("t", 0, protocol::build_end_txn_marker(pid, epoch, {commit, 0}, 2000), -1,
                       log::AppendOrigin::kCoordinator, 1000,
                       [&](replica::PartitionResult<log::AppendInfo> r) {
                         done.set_value(r ? ErrorCode::NONE : r.error().code);
                       });
    return done.get_future().get();
  }
  protocol::FetchResponse::FetchableTopicResponse::PartitionData fetch(int64_t offset, bool committed) {
    auto req = fetch_req(offset, kFetchVersion);
    req.isolation_level = committed ? 1 : 0;
    auto resp = call<protocol::FetchResponse>(1, kFetchVersion, req);
    return resp.responses.at(0).partitions.at(0);
  }
  int64_t latest(bool committed) {
    protocol::ListOffsetsRequest req;
    req.replica_id = -1;
    req.isolation_level = committed ? 1 : 0;
    auto& t = req.topics.emplace_back();
    t.name = "t";
    auto& p = t.partitions.emplace_back();
    p.partition_index = 0;
    p.timestamp = -1;
    auto resp = call<protocol::ListOffsetsResponse>(2, 8, req);
    return resp.topics.at(0).partitions.at(0).offset;
  }
  static std::vector<std::string> data_values(const protocol::Records& records) {
    std::vector<std::string> out;
    for (const auto& b : protocol::split_batches(records.bytes(), true).batches) {
      if (b.header.is_control()) continue;
      for (const auto& r : protocol::decode_batch_records(b, 1 << 24)) out.emplace_back(r.value->begin(), r.value->end());
    }
    return out;
  }
};

TEST_F(TxnProduceFetchTest, ReadCommittedStopsAtTheLastStableOffsetAndListsAbortedTransactions) {
  ASSERT_EQ(produce(batch(2)).error_code, 0);                               // 0-1
  ASSERT_EQ(produce_txn(txn_batch(5, 0, 0, 3, "aborted")), ErrorCode::NONE);  // 2-4
  // Open transaction: read_committed sees only what precedes it.
  auto open = fetch(0, true);
  EXPECT_EQ(open.high_watermark, 5);
  EXPECT_EQ(open.last_stable_offset, 2);
  EXPECT_EQ(data_values(open.records).size(), 2u);
  EXPECT_EQ(latest(true), 2);
  EXPECT_EQ(latest(false), 5);
  auto uncommitted = fetch(0, false);
  EXPECT_EQ(data_values(uncommitted.records).size(), 5u);
  EXPECT_EQ(uncommitted.last_stable_offset, 2);
  EXPECT_FALSE(uncommitted.aborted_transactions.has_value());

  ASSERT_EQ(write_marker(5, 0, /*commit=*/false), ErrorCode::NONE);  // 5
  ASSERT_EQ(produce_txn(txn_batch(5, 0, 3, 2, "committed")), ErrorCode::NONE);  // 6-7
  ASSERT_EQ(write_marker(5, 0, /*commit=*/true), ErrorCode::NONE);   // 8
  auto done = fetch(0, true);
  EXPECT_EQ(done.last_stable_offset, 9);
  EXPECT_EQ(latest(true), 9);
  ASSERT_TRUE(done.aborted_transactions.has_value());
  ASSERT_EQ(done.aborted_transactions->size(), 1u);
  EXPECT_EQ((*done.aborted_transactions)[0].producer_id, 5);
  EXPECT_EQ((*done.aborted_transactions)[0].first_offset, 2);
  // The consumer drops the aborted range itself; all records are returned.
  EXPECT_EQ(data_values(done.records).size(), 7u);
  auto after = fetch(6, true);
  ASSERT_TRUE(after.aborted_transactions.has_value());
  EXPECT_TRUE(after.aborted_transactions->empty());
}

TEST_F(TxnProduceFetchTest, ParkedReadCommittedFetchWakesWhenTheMarkerMovesTheLastStableOffset) {
  ASSERT_EQ(produce_txn(txn_batch(5, 0, 0, 2, "a")), ErrorCode::NONE);
  auto req = fetch_req(0, kFetchVersion);
  req.isolation_level = 1;
  req.max_wait_ms = 5000;
  auto parked = send(1, kFetchVersion, req);
  EXPECT_FALSE(parked->wait(std::chrono::milliseconds(100)));
  ASSERT_EQ(write_marker(5, 0, true), ErrorCode::NONE);
  ASSERT_TRUE(parked->wait(std::chrono::seconds(2)));
  auto resp = decode<protocol::FetchResponse>(*parked->reply, 1, kFetchVersion);
  EXPECT_EQ(resp.responses.at(0).partitions.at(0).last_stable_offset, 3);
  EXPECT_EQ(data_values(resp.responses.at(0).partitions.at(0).records).size(), 2u);
}

TEST_F(TxnProduceFetchTest, TransactionalBatchWithoutTransactionalIdIsRefused) {
  auto r = call<protocol::ProduceResponse>(0, kProduceVersion, produce_req(txn_batch(5, 0, 0, 1, "x")));
  EXPECT_EQ(r.responses.at(0).partition_responses.at(0).error_code,
            protocol::code(ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED));
}

TEST_F(TxnProduceFetchTest, FirstWriteOfATransactionIsVerifiedWithTheCoordinator) {
  HeldVerifier verifier;
  services.txn_verifier = &verifier;
  auto first = send_txn(txn_batch(5, 0, 0, 2, "a"));
  ASSERT_EQ(verifier.count(), 1u);
  EXPECT_EQ(verifier.calls[0].first.transactional_id, "tx");
  EXPECT_EQ(verifier.calls[0].first.producer_id, 5);
  EXPECT_EQ(verifier.calls[0].first.partitions, (std::vector<std::pair<std::string, int32_t>>{{"t", 0}}));
  EXPECT_FALSE(first->wait(std::chrono::milliseconds(50)));  // answered after the coordinator
  verifier.answer(0, ErrorCode::NONE);
  ASSERT_TRUE(first->wait(std::chrono::seconds(5)));
  EXPECT_EQ(decode<protocol::ProduceResponse>(*first->reply, 0, kProduceVersion)
                .responses.at(0).partition_responses.at(0).error_code, 0);
  // The transaction is open here now: the next write needs no verification.
  EXPECT_EQ(produce_txn(txn_batch(5, 0, 2, 1, "b")), ErrorCode::NONE);
  EXPECT_EQ(verifier.count(), 1u);
  ASSERT_EQ(write_marker(5, 0, true), ErrorCode::NONE);

  // The coordinator does not know the partition in the transaction.
  auto refused = send_txn(txn_batch(5, 0, 3, 1, "c"));
  ASSERT_EQ(verifier.count(), 2u);
  verifier.answer(1, ErrorCode::INVALID_TXN_STATE);
  ASSERT_TRUE(refused->wait(std::chrono::seconds(5)));
  EXPECT_EQ(decode<protocol::ProduceResponse>(*refused->reply, 0, kProduceVersion)
                .responses.at(0).partition_responses.at(0).error_code,
            protocol::code(ErrorCode::INVALID_TXN_STATE));
  EXPECT_EQ(services.replicas->get("t", 0)->log_end_offset(), 4);
}

TEST_F(TxnProduceFetchTest, WriteVerifiedBeforeItsMarkerIsRefusedAfterIt) {
  // KIP-890's late write: verified while the transaction was ongoing, the
  // write reaches the log only after the coordinator's ABORT marker.
  HeldVerifier verifier;
  services.txn_verifier = &verifier;
  auto late = send_txn(txn_batch(5, 0, 0, 2, "late"));
  ASSERT_EQ(verifier.count(), 1u);
  ASSERT_EQ(write_marker(5, 0, /*commit=*/false), ErrorCode::NONE);  // 0
  verifier.answer(0, ErrorCode::NONE);
  ASSERT_TRUE(late->wait(std::chrono::seconds(5)));
  EXPECT_EQ(decode<protocol::ProduceResponse>(*late->reply, 0, kProduceVersion)
                .responses.at(0).partition_responses.at(0).error_code,
            protocol::code(ErrorCode::INVALID_TXN_STATE));
  auto p = services.replicas->get("t", 0);
  EXPECT_EQ(p->log_end_offset(), 1);
  EXPECT_EQ(p->last_stable_offset(), 1);
  EXPECT_FALSE(p->log()->has_ongoing_txn(5));
}

TEST_F(TxnProduceFetchTest, ProduceV12AddsThePartitionEvenWithVerificationOff) {
  // Transactions v2: the client sends no AddPartitionsToTxn; the leader asks
  // the coordinator to add the partition, whatever the verification switch.
  config.transaction_partition_verification_enable = false;
  HeldVerifier verifier;
  services.txn_verifier = &verifier;
  auto send_v12 = [&](const std::vector<uint8_t>& bytes) {
    auto req = produce_req(bytes);
    req.transactional_id = "tx";
    return send(0, 12, req);
  };
  auto error_of = [&](const std::shared_ptr<Pending>& p) {
    EXPECT_TRUE(p->wait(std::chrono::seconds(5)));
    return decode<protocol::ProduceResponse>(*p->reply, 0, 12).responses.at(0).partition_responses.at(0).error_code;
  };
  auto first = send_v12(txn_batch(5, 0, 0, 2, "a"));
  ASSERT_EQ(verifier.count(), 1u);
  EXPECT_TRUE(verifier.calls[0].first.add_partitions);
  verifier.answer(0, ErrorCode::NONE);
  EXPECT_EQ(error_of(first), 0);
  EXPECT_EQ(error_of(send_v12(txn_batch(5, 0, 2, 1, "b"))), 0);  // open here: no second add
  EXPECT_EQ(verifier.count(), 1u);

  // The next transaction (epoch 1 after the bump) while the marker of the
  // first is not here yet: asked again, not taken as part of the open one.
  auto next = send_v12(txn_batch(5, 1, 0, 1, "c"));
  ASSERT_EQ(verifier.count(), 2u);
  EXPECT_EQ(verifier.calls[1].first.producer_epoch, 1);
  verifier.answer(1, ErrorCode::NOT_ENOUGH_REPLICAS);  // its coordinator still writes the markers
  EXPECT_EQ(error_of(next), protocol::code(ErrorCode::NOT_ENOUGH_REPLICAS));
  ASSERT_EQ(write_marker(5, 1, true), ErrorCode::NONE);  // the first ends, at the bumped epoch
  auto retried = send_v12(txn_batch(5, 1, 0, 1, "c"));
  ASSERT_EQ(verifier.count(), 3u);
  verifier.answer(2, ErrorCode::NONE);
  EXPECT_EQ(error_of(retried), 0);
  EXPECT_TRUE(services.replicas->get("t", 0)->log()->has_ongoing_txn(5, 1));
  // v9 with verification off asks nobody.
  ASSERT_EQ(write_marker(5, 1, false), ErrorCode::NONE);
  EXPECT_EQ(produce_txn(txn_batch(5, 1, 1, 1, "d")), ErrorCode::NONE);
  EXPECT_EQ(verifier.count(), 3u);
}

}  // namespace
}  // namespace samsa::broker
