// The replica fetcher against a leader served over loopback: a small
// in-test Kafka server answers Fetch v17 and ListOffsets from a real leader
// log (with Kafka's leader-side rules for LastFetchedEpoch, the fetch
// offset range and the leader epoch), and the follower's Partition sits on
// a real log too. Covers catching up, following the high watermark,
// truncation on a diverging epoch, restarting below the leader's log start,
// waiting after FENCED_LEADER_EPOCH until re-targeted, and a prompt shutdown
// with a fetch in flight.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "../../../src/broker/replica/replica_fetcher_thread.h"
#include "samsa/broker/replica/partition.h"
#include "samsa/broker/replica/replica_fetcher_manager.h"
#include "samsa/net/frame_handler.h"
#include "samsa/net/io_context_pool.h"
#include "samsa/net/tcp_server.h"
#include "samsa/protocol/gen/api_keys.h"
#include "samsa/protocol/gen/fetch_request.h"
#include "samsa/protocol/gen/fetch_response.h"
#include "samsa/protocol/gen/list_offsets_request.h"
#include "samsa/protocol/gen/list_offsets_response.h"
#include "samsa/protocol/gen/request_header.h"
#include "samsa/protocol/gen/response_header.h"
#include "samsa/protocol/record_batch.h"

namespace samsa::broker::replica {
namespace {

using namespace std::chrono_literals;
using protocol::ErrorCode;

const protocol::Uuid kTopicId{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};

std::vector<uint8_t> batch_of(int records, int64_t base = 0, int32_t epoch = -1) {
  protocol::RecordBatchOptions o;
  o.base_offset = base;
  o.partition_leader_epoch = epoch;
  protocol::RecordBatchBuilder b(o);
  std::vector<uint8_t> value(100, 'x');
  for (int i = 0; i < records; ++i) b.append(1000 + i, std::nullopt, value);
  return b.build();
}

std::shared_ptr<log::Log> open_log(const std::string& dir) {
  log::LogOpenOptions o;
  o.dir = dir;
  o.tp = {"t", 0};
  o.config.segment_bytes = 64 * 1024;
  auto l = log::Log::open(o);
  EXPECT_TRUE(l.ok());
  return l.value();
}

// The leader: answers Fetch and ListOffsets for partition t-0 from `log`.
class FakeLeader : public net::FrameHandler {
 public:
  explicit FakeLeader(std::shared_ptr<log::Log> log) : log_(std::move(log)) {}

  void on_frame(const net::ConnectionInfo&, net::FramePtr frame, net::ReplyFn reply) override {
    protocol::WireReader r(*frame);
    protocol::WireReader peek(*frame);
    const int16_t key = peek.int16();
    const int16_t version = peek.int16();
    protocol::RequestHeader header;
    header.decode(r, protocol::request_header_version(key, version));
    if (hold.load()) {
      std::lock_guard lock(mu);
      held.push_back(std::move(reply));
      return;
    }
    protocol::WireWriter w;
    w.int32(0);
    protocol::ResponseHeader rh;
    rh.correlation_id = header.correlation_id;
    rh.encode(w, protocol::response_header_version(key, version));
    if (key == protocol::FetchRequest::kApiKey) {
      protocol::FetchRequest req;
      req.decode(r, version);
      bool empty = true;
      auto resp = answer_fetch(req, empty);
      if (empty) std::this_thread::sleep_for(std::chrono::milliseconds(std::min(req.max_wait_ms, 20)));
      resp.encode(w, version);
    } else if (key == protocol::ListOffsetsRequest::kApiKey) {
      protocol::ListOffsetsRequest req;
      req.decode(r, version);
      ++list_offsets;
      protocol::ListOffsetsResponse resp;
      for (const auto& t : req.topics) {
        auto& tr = resp.topics.emplace_back();
        tr.name = t.name;
        for (const auto& p : t.partitions) {
          auto& pr = tr.partitions.emplace_back();
          pr.partition_index = p.partition_index;
          pr.offset = p.timestamp == -2 ? log_->log_start_offset() : log_->log_end_offset();
        }
      }
      resp.encode(w, version);
    } else {
      reply(net::Reply::close());
      return;
    }
    w.patch_int32(0, static_cast<int32_t>(w.size() - 4));
    reply(net::Reply::send(w.take()));
  }

  protocol::FetchResponse answer_fetch(const protocol::FetchRequest& req, bool& empty) {
    protocol::FetchResponse resp;
    for (const auto& t : req.topics) {
      auto& tr = resp.responses.emplace_back();
      tr.topic_id = t.topic_id;
      for (const auto& p : t.partitions) {
        {
          std::lock_guard lock(mu);
          fetches.push_back({req.replica_state.replica_id, req.replica_state.replica_epoch, p.current_leader_epoch,
                             p.fetch_offset, p.last_fetched_epoch});
        }
        auto& pd = tr.partitions.emplace_back();
        pd.partition_index = p.partition;
        pd.high_watermark = log_->high_watermark();
        pd.log_start_offset = log_->log_start_offset();
        if (p.current_leader_epoch < epoch.load()) {
          pd.error_code = protocol::code(ErrorCode::FENCED_LEADER_EPOCH);
          continue;
        }
        // Kafka's Partition.fetchRecords: a follower whose last epoch ends
        // earlier here (or is unknown here) gets the diverging epoch.
        if (p.last_fetched_epoch >= 0) {
          auto [e, end] = log_->leader_epoch_cache().end_offset_for(p.last_fetched_epoch, log_->log_end_offset());
          if (end < p.fetch_offset || e < p.last_fetched_epoch) {
            pd.diverging_epoch.epoch = e;
            pd.diverging_epoch.end_offset = end;
            empty = false;
            continue;
          }
        }
        auto range = log_->read(p.fetch_offset, static_cast<size_t>(p.partition_max_bytes), true,
                                log_->log_end_offset());
        if (!range) {
          pd.error_code = protocol::code(ErrorCode::OFFSET_OUT_OF_RANGE);
          pd.high_watermark = -1;
          pd.log_start_offset = -1;
          empty = false;
          continue;
        }
        std::vector<uint8_t> bytes(range->size);
        if (range->size > 0) range->file->pread_some(bytes, range->position);
        // A partial batch at the end, as a max-bytes cut leaves one.
        if (truncate_answers.load() && !bytes.empty()) {
          auto extra = batch_of(1, log_->log_end_offset());
          bytes.insert(bytes.end(), extra.begin(), extra.begin() + 30);
        }
        if (range->size > 0) empty = false;
        pd.records = protocol::Records::copy_of(bytes);
      }
    }
    return resp;
  }

  void release() {
    hold = false;
    std::vector<net::ReplyFn> h;
    {
      std::lock_guard lock(mu);
      h.swap(held);
    }
    for (auto& r : h) r(net::Reply::close());
  }

  struct Seen {
    int32_t replica_id;
    int64_t replica_epoch;
    int32_t current_leader_epoch;
    int64_t fetch_offset;
    int32_t last_fetched_epoch;
  };
  std::vector<Seen> seen() {
    std::lock_guard lock(mu);
    return fetches;
  }

  std::atomic<int32_t> epoch{1};  // answers FENCED_LEADER_EPOCH below it
  std::atomic<bool> hold{false};
  std::atomic<bool> truncate_answers{false};
  std::atomic<int> list_offsets{0};

 private:
  std::shared_ptr<log::Log> log_;
  std::mutex mu;
  std::vector<Seen> fetches;
  std::vector<net::ReplyFn> held;
};

class ReplicaFetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "samsa-rf-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
    leader_log = open_log(dir + "/leader/t-0");
    follower_log = open_log(dir + "/follower/t-0");
    partition = std::make_shared<Partition>("t", 0, kTopicId, follower_log, /*local_broker_id=*/2, PartitionHooks{});
    leader = std::make_unique<FakeLeader>(leader_log);
    server = std::make_unique<net::TcpServer>(pool, net::ConnectionOptions{});
    port = server->listen(net::ListenerConfig{"REPLICATION", "127.0.0.1", 0, leader.get()});
    pool.start();
    server->start_accepting();
  }
  void TearDown() override {
    leader->release();
    manager.reset();
    server->stop_accepting();
    server->drain(1s);
    pool.stop();
    server.reset();
    leader_log->close();
    follower_log->close();
    std::filesystem::remove_all(dir);
  }
  ReplicaFetcherOptions options() {
    ReplicaFetcherOptions o;
    o.broker_id = 2;
    o.fetch_max_wait_ms = 50;
    o.backoff_ms = 50;
    o.partition_max_bytes = 4096;  // several fetches to catch up
    o.broker_epoch = [] { return int64_t{7}; };
    o.endpoint = [this](int32_t id) -> std::optional<std::pair<std::string, uint16_t>> {
      if (id == 1) return std::make_pair(std::string("127.0.0.1"), port);
      return std::nullopt;
    };
    o.partition = [this](const std::string& t, int32_t p) -> std::shared_ptr<Partition> {
      return t == "t" && p == 0 ? partition : nullptr;
    };
    return o;
  }
  void start(int32_t epoch = 1) {
    if (!manager) manager = std::make_unique<ReplicaFetcherManager>(options());
    manager->add_partitions({FollowTarget{"t", kTopicId, 0, 1, epoch}});
  }
  void leader_append(int records, int32_t epoch) {
    auto b = batch_of(records);
    ASSERT_TRUE(leader_log->append_as_leader(b, epoch).ok());
  }
  // Bounded wait for `pred`.
  template <typename Pred>
  bool eventually(Pred pred, std::chrono::milliseconds limit = 5s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return pred();
  }

  std::string dir;
  std::shared_ptr<log::Log> leader_log, follower_log;
  std::shared_ptr<Partition> partition;
  std::unique_ptr<FakeLeader> leader;
  net::IoContextPool pool{1};
  std::unique_ptr<net::TcpServer> server;
  uint16_t port = 0;
  std::unique_ptr<ReplicaFetcherManager> manager;
};

TEST_F(ReplicaFetcherTest, CatchesUpAndFollowsTheHighWatermark) {
  for (int i = 0; i < 20; ++i) leader_append(10, 1);
  leader_log->set_high_watermark(150);
  start();
  ASSERT_TRUE(eventually([&] { return partition->log_end_offset() == 200; }));
  ASSERT_TRUE(eventually([&] { return partition->high_watermark() == 150; }));
  EXPECT_EQ(partition->latest_epoch(), 1);
  EXPECT_EQ(follower_log->size_in_bytes(), leader_log->size_in_bytes());

  leader_append(5, 1);
  leader_log->set_high_watermark(205);
  ASSERT_TRUE(eventually([&] { return partition->log_end_offset() == 205 && partition->high_watermark() == 205; }));

  auto seen = leader->seen();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().replica_id, 2);
  EXPECT_EQ(seen.back().replica_epoch, 7);
  EXPECT_EQ(seen.back().current_leader_epoch, 1);
  EXPECT_EQ(seen.back().last_fetched_epoch, 1);
  EXPECT_EQ(seen.front().last_fetched_epoch, -1);  // the follower's log was empty
  EXPECT_EQ(manager->partition_count(), 1u);
}

TEST_F(ReplicaFetcherTest, AppendsWholeBatchesOnlyFromAnAnswerCutAtMaxBytes) {
  for (int i = 0; i < 3; ++i) leader_append(10, 1);
  leader_log->set_high_watermark(30);
  leader->truncate_answers = true;
  start();
  ASSERT_TRUE(eventually([&] { return partition->log_end_offset() == 30; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(partition->log_end_offset(), 30);
  EXPECT_EQ(follower_log->size_in_bytes(), leader_log->size_in_bytes());
}

TEST_F(ReplicaFetcherTest, TruncatesOnADivergingEpochAndTakesTheLeadersHistory) {
  // Both wrote 0-9 in epoch 1; the follower then led epoch 2 (10-19,
  // never replicated) while the leader wrote 10-14 in epoch 3.
  leader_append(10, 1);
  leader_append(5, 3);
  leader_log->set_high_watermark(15);
  ASSERT_TRUE(partition->append_as_follower(batch_of(10, 0, 1)).ok());
  ASSERT_TRUE(partition->append_as_follower(batch_of(10, 10, 2)).ok());
  leader->epoch = 3;
  start(3);
  ASSERT_TRUE(eventually([&] { return partition->log_end_offset() == 15 && partition->latest_epoch() == 3; }));
  EXPECT_EQ(partition->end_offset_for_epoch(2), (std::pair<int32_t, int64_t>{1, 10}));
  EXPECT_EQ(follower_log->size_in_bytes(), leader_log->size_in_bytes());
  auto seen = leader->seen();
  EXPECT_EQ(seen.front().fetch_offset, 20);
  EXPECT_EQ(seen.front().last_fetched_epoch, 2);
}

TEST_F(ReplicaFetcherTest, RestartsAtTheLeadersLogStartWhenBelowIt) {
  ASSERT_TRUE(leader_log->truncate_fully_and_start_at(100).ok());
  leader_append(10, 1);
  leader_log->set_high_watermark(110);
  ASSERT_TRUE(partition->append_as_follower(batch_of(5, 0, 1)).ok());
  start();
  ASSERT_TRUE(eventually([&] { return partition->log_end_offset() == 110; }));
  EXPECT_EQ(partition->log_start_offset(), 100);
  EXPECT_EQ(partition->high_watermark(), 110);
  EXPECT_GE(leader->list_offsets.load(), 2);  // asked for the leader's end, then its start
}

TEST_F(ReplicaFetcherTest, FencedEpochWaitsUntilReTargeted) {
  leader_append(10, 1);
  leader_log->set_high_watermark(10);
  leader->epoch = 5;
  start(4);
  ASSERT_TRUE(eventually([&] { return !leader->seen().empty(); }));
  std::this_thread::sleep_for(300ms);  // several back-offs' worth
  EXPECT_EQ(leader->seen().size(), 1u);
  EXPECT_EQ(partition->log_end_offset(), 0);
  start(5);  // the image moved on
  ASSERT_TRUE(eventually([&] { return partition->log_end_offset() == 10; }));
  EXPECT_EQ(leader->seen().back().current_leader_epoch, 5);
}

TEST_F(ReplicaFetcherTest, RemovedPartitionsStopTheirFetcher) {
  leader_append(10, 1);
  start();
  ASSERT_TRUE(eventually([&] { return partition->log_end_offset() == 10; }));
  manager->remove_partitions({{"t", 0}});
  EXPECT_EQ(manager->partition_count(), 0u);
  const size_t fetched = leader->seen().size();
  leader_append(10, 1);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(leader->seen().size(), fetched);
  EXPECT_EQ(partition->log_end_offset(), 10);
}

TEST_F(ReplicaFetcherTest, ShutdownAbandonsTheFetchInFlight) {
  leader->hold = true;
  start();
  ASSERT_TRUE(eventually([&] { return leader->seen().empty() && manager->partition_count() == 1; }));
  std::this_thread::sleep_for(100ms);  // the fetch is out and unanswered
  auto t0 = std::chrono::steady_clock::now();
  manager->shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(manager->partition_count(), 0u);
}

TEST(FollowerTruncation, Offsets) {
  // Same epoch on both sides: the smaller end.
  EXPECT_EQ(follower_truncation_offset(3, 50, {3, 60}, 60, 40), 50);
  EXPECT_EQ(follower_truncation_offset(3, 70, {3, 60}, 60, 40), 60);
  // Ours ends in a lower epoch: cut there (the next fetch asks again).
  EXPECT_EQ(follower_truncation_offset(3, 50, {2, 45}, 60, 40), 45);
  // We know nothing of that epoch: up to the leader's end.
  EXPECT_EQ(follower_truncation_offset(3, 50, {-1, -1}, 60, 40), 50);
  // The leader knows nothing: the high watermark.
  EXPECT_EQ(follower_truncation_offset(-1, -1, {-1, -1}, 60, 40), 40);
  // Never above our own end.
  EXPECT_EQ(follower_truncation_offset(3, 90, {-1, -1}, 60, 40), 60);
}

TEST(FollowerTruncation, WholeBatchesPrefix) {
  auto a = batch_of(2);
  auto b = batch_of(3, 2);
  std::vector<uint8_t> both = a;
  both.insert(both.end(), b.begin(), b.end());
  EXPECT_EQ(whole_batches_prefix(both), both.size());
  EXPECT_EQ(whole_batches_prefix(std::span<const uint8_t>(both).first(both.size() - 1)), a.size());
  EXPECT_EQ(whole_batches_prefix(std::span<const uint8_t>(both).first(a.size() + 11)), a.size());
  EXPECT_EQ(whole_batches_prefix(std::span<const uint8_t>(both).first(5)), 0u);
}

}  // namespace
}  // namespace samsa::broker::replica
