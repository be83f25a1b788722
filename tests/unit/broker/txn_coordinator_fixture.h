#pragma once
// The TransactionCoordinator test fixture: a fake __transaction_state, a
// fake marker sender and a controllable clock (txn_coordinator_test.cc,
// txn_coordinator_v2_test.cc).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>

#include "samsa/broker/txn/transaction_coordinator.h"

namespace samsa::broker::txn::txn_test {

using protocol::ErrorCode;

struct FakeStore : TxnLogStore {
  std::map<int32_t, std::vector<DecodedTxnRecord>> log;
  ErrorCode fail_with = ErrorCode::NONE;
  bool hold = false;  // keep appends pending until release()
  std::vector<std::function<void()>> held;
  void append(int32_t partition, const std::string& id, const std::optional<TxnRecord>& record, int64_t,
              std::function<void(ErrorCode)> done) override {
    auto finish = [this, partition, id, record, done = std::move(done)] {
      if (fail_with != ErrorCode::NONE) return done(fail_with);
      log[partition].push_back({id, record});
      done(ErrorCode::NONE);
    };
    if (hold)
      held.push_back(finish);
    else
      finish();
  }
  void release() {
    auto h = std::move(held);
    held.clear();
    for (auto& f : h) f();
  }
  void load(int32_t partition, const std::function<void(DecodedTxnRecord&&)>& apply) override {
    for (auto r : log[partition]) apply(std::move(r));
  }
};

struct FakeMarkers : TxnMarkerSender {
  std::vector<std::pair<TxnMarkerJob, std::function<void(TxnMarkerOutcome)>>> jobs;
  std::vector<int32_t> abandoned;
  void send(TxnMarkerJob job, std::function<void(TxnMarkerOutcome)> done) override {
    jobs.emplace_back(std::move(job), std::move(done));
  }
  void abandon(int32_t p) override { abandoned.push_back(p); }
  void finish_all() {
    auto j = std::move(jobs);
    jobs.clear();
    for (auto& [_, done] : j) done(TxnMarkerOutcome::kWritten);
  }
};

class TxnCoordinatorTest : public ::testing::Test {
 protected:
  TxnCoordinatorTest() { make(); }

  void make() {
    TxnCoordinatorConfig config;
    config.node_id = 1;
    config.num_partitions = 4;
    config.max_timeout_ms = 60000;
    config.id_expiration_ms = 1000000;
    TxnCoordinatorDeps deps;
    deps.store = &store;
    deps.markers = [this] { return &markers; };
    deps.new_producer_id = [this] { return std::pair{ErrorCode::NONE, next_pid++}; };
    deps.now_ms = [this] { return clock; };
    deps.schedule = [this](int64_t, std::function<void()> fn) { scheduled.push_back(std::move(fn)); };
    coord = std::make_unique<TransactionCoordinator>(config, deps);
    coord->set_leadership({{0, 5}, {1, 5}, {2, 5}, {3, 5}});
    coord->await_loads();
  }

  InitPidResult init(const std::string& id, int64_t pid = -1, int16_t epoch = -1, int32_t timeout = 30000) {
    InitPidResult out;
    bool called = false;
    coord->init_producer_id(id, timeout, pid, epoch, [&](InitPidResult r) {
      out = r;
      called = true;
    });
    EXPECT_TRUE(called);
    return out;
  }
  ErrorCode add(const std::string& id, const InitPidResult& p, std::vector<TopicPartition> parts) {
    ErrorCode out = ErrorCode::UNKNOWN_SERVER_ERROR;
    coord->add_partitions(id, p.producer_id, p.producer_epoch, parts, [&](ErrorCode e) { out = e; });
    return out;
  }
  ErrorCode end(const std::string& id, const InitPidResult& p, bool commit) {
    ErrorCode out = ErrorCode::UNKNOWN_SERVER_ERROR;
    coord->end_txn(id, p.producer_id, p.producer_epoch, commit, [&](ErrorCode e) { out = e; });
    return out;
  }
  std::string state(const std::string& id) { return coord->describe(id).state; }

  FakeStore store;
  FakeMarkers markers;
  int64_t next_pid = 1000;
  int64_t clock = 1'000'000;
  std::vector<std::function<void()>> scheduled;
  std::unique_ptr<TransactionCoordinator> coord;
};

}  // namespace samsa::broker::txn::txn_test
