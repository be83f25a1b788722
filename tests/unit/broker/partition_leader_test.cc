// replica::Partition, leader side: the high watermark over the maximal ISR,
// min.insync.replicas, ISR expansion and shrink through a fake
// AlterPartition sender, epoch checks and a follower's diverging epoch, all
// on a real log with a fake clock.
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>

#include "samsa/broker/fetch/fetch_waiters.h"
#include "samsa/broker/replica/alter_partition_sender.h"
#include "samsa/broker/replica/delayed_produce.h"
#include "samsa/broker/replica/partition.h"
#include "samsa/broker/scheduler.h"
#include "samsa/log/log.h"
#include "samsa/protocol/compression.h"
#include "samsa/protocol/record_batch.h"
#include "single_node_env.h"

namespace samsa::broker::replica {
namespace {

using protocol::ErrorCode;

class PartitionLeaderTest : public ::testing::Test {
 protected:
  PartitionLeaderTest() {
    dir_ = test_env::fresh_dir("samsa-partition");
    log::LogOpenOptions o;
    o.dir = (dir_ / "t-0").string();
    o.tp = {"t", 0};
    auto opened = log::Log::open(o);
    EXPECT_TRUE(opened.ok());
    log_ = std::move(*opened);
    for (int32_t id : {1, 2, 3}) {
      BrokerRegistration b;
      b.id = id;
      b.epoch = 100 + id;
      image_.brokers.emplace(id, b);
    }
  }
  ~PartitionLeaderTest() override {
    partition_.reset();
    log_->close();
    std::filesystem::remove_all(dir_);
  }

  // A partition on broker 1 with these hooks: a fake clock, a sender that
  // keeps what it is given, a progress counter.
  void make(int32_t local = 1, bool with_sender = true) {
    PartitionHooks hooks;
    hooks.now_ms = [this] { return now_; };
    hooks.on_progress = [this](const std::string&, int32_t) { ++progress_; };
    if (with_sender) hooks.send_isr_update = [this](std::shared_ptr<IsrUpdate> u) { sent_.push_back(u); };
    partition_ = std::make_shared<Partition>("t", 0, protocol::Uuid{}, log_, local, std::move(hooks));
  }

  Transition apply(std::vector<int32_t> replicas, std::vector<int32_t> isr, int32_t leader, int32_t leader_epoch,
                   int32_t partition_epoch, int32_t min_insync = 1) {
    PartitionImage p;
    p.partition_id = 0;
    p.replicas = std::move(replicas);
    p.isr = std::move(isr);
    p.leader = leader;
    p.leader_epoch = leader_epoch;
    p.partition_epoch = partition_epoch;
    return partition_->apply_metadata(p, image_, min_insync);
  }

  PartitionResult<log::AppendInfo> append(int n, int16_t acks = -1) {
    protocol::RecordBatchBuilder b;
    for (int i = 0; i < n; ++i) {
      std::string v = "v" + std::to_string(i);
      b.append(1000 + i, {}, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
    }
    auto bytes = protocol::build_compressed_batch(b, protocol::CompressionType::kNone);
    return partition_->append_as_leader(std::span<uint8_t>(bytes), acks);
  }

  // A follower fetch made with the leader's current log end.
  bool fetch(int32_t replica, int64_t offset, int64_t epoch = -1) {
    return partition_->update_follower_fetch_state(replica, epoch, offset, 0, log_->log_end_offset());
  }

  std::filesystem::path dir_;
  std::shared_ptr<log::Log> log_;
  MetadataImage image_;
  std::shared_ptr<Partition> partition_;
  int64_t now_ = 1'000'000;
  int progress_ = 0;
  std::vector<std::shared_ptr<IsrUpdate>> sent_;
};

std::vector<int32_t> ids(const IsrUpdate& u) {
  std::vector<int32_t> out;
  for (const auto& [id, epoch] : u.new_isr) out.push_back(id);
  return out;
}

TEST_F(PartitionLeaderTest, SingleReplicaHighWatermarkFollowsTheLogEnd) {
  make();
  EXPECT_EQ(apply({1}, {1}, 1, 5, 0), Transition::kBecameLeader);
  auto r = append(3);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(partition_->high_watermark(), 3);
  EXPECT_EQ(partition_->check_replicated(3), ErrorCode::NONE);
  EXPECT_GE(progress_, 1);
  EXPECT_TRUE(sent_.empty());
}

TEST_F(PartitionLeaderTest, HighWatermarkIsTheMinimumOverTheIsr) {
  make();
  apply({1, 2, 3}, {1, 2, 3}, 1, 1, 0);
  ASSERT_TRUE(append(3).ok());
  EXPECT_EQ(partition_->high_watermark(), 0);
  EXPECT_EQ(partition_->check_replicated(3), std::nullopt);
  // 3's position is unknown: the high watermark stays (the call still says
  // "moved": 2 reported its log start for the first time).
  fetch(2, 3);
  EXPECT_EQ(partition_->high_watermark(), 0);
  EXPECT_FALSE(fetch(2, 3)) << "nothing new from 2";
  EXPECT_TRUE(fetch(3, 2));
  EXPECT_EQ(partition_->high_watermark(), 2);
  EXPECT_EQ(partition_->check_replicated(3), std::nullopt);
  EXPECT_TRUE(fetch(3, 3));
  EXPECT_EQ(partition_->high_watermark(), 3);
  EXPECT_EQ(partition_->check_replicated(3), ErrorCode::NONE);
  // A replica not in the ISR never holds it back.
  apply({1, 2, 3}, {1, 2}, 1, 1, 1);
  ASSERT_TRUE(append(2).ok());
  EXPECT_TRUE(fetch(2, 5));
  EXPECT_EQ(partition_->high_watermark(), 5);
}

TEST_F(PartitionLeaderTest, MinInsyncReplicas) {
  make();
  apply({1, 2}, {1}, 1, 1, 0, /*min_insync=*/2);
  auto refused = append(1, -1);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::NOT_ENOUGH_REPLICAS);
  EXPECT_EQ(log_->log_end_offset(), 0) << "nothing is written";
  EXPECT_TRUE(append(1, 1).ok()) << "acks=1 does not ask for the ISR";

  // The ISR shrinks below min.insync while an acks=all append waits.
  apply({1, 2}, {1, 2}, 1, 1, 1, 2);
  fetch(2, 1);
  auto r = append(2, -1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(partition_->check_replicated(3), std::nullopt);
  const int before = progress_;
  apply({1, 2}, {1}, 1, 1, 2, 2);
  EXPECT_EQ(partition_->high_watermark(), 3);
  EXPECT_GT(progress_, before) << "the shrink moved the high watermark: waiters are woken";
  EXPECT_EQ(partition_->check_replicated(3), ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND);
}

TEST_F(PartitionLeaderTest, EpochChecksAndFollowerRole) {
  make();
  EXPECT_EQ(apply({1, 2}, {1, 2}, 2, 4, 0), Transition::kBecameFollower);
  EXPECT_EQ(partition_->check_epoch(3, false), ErrorCode::FENCED_LEADER_EPOCH);
  EXPECT_EQ(partition_->check_epoch(5, false), ErrorCode::UNKNOWN_LEADER_EPOCH);
  EXPECT_EQ(partition_->check_epoch(4, false), ErrorCode::NONE);
  EXPECT_EQ(partition_->check_epoch(-1, true), ErrorCode::NOT_LEADER_OR_FOLLOWER);
  auto r = append(1, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::NOT_LEADER_OR_FOLLOWER);
  EXPECT_EQ(partition_->check_replicated(0), ErrorCode::NOT_LEADER_OR_FOLLOWER);
  EXPECT_FALSE(fetch(2, 0)) << "a follower tracks no positions";

  EXPECT_EQ(apply({1, 2}, {1, 2}, 2, 4, 0), Transition::kUnchanged);
  EXPECT_EQ(apply({1, 2}, {1, 2}, 3, 4, 0), Transition::kLeaderChanged);
  EXPECT_EQ(apply({1, 2}, {1, 2}, 3, 4, 1), Transition::kIsrChanged);
  EXPECT_EQ(apply({1, 2}, {1, 2}, 2, 3, 0), Transition::kUnchanged) << "an older partition epoch is ignored";
  EXPECT_EQ(partition_->leader_id(), 3);
  EXPECT_EQ(apply({1, 2}, {1, 2}, 1, 5, 2), Transition::kBecameLeader);
  EXPECT_EQ(partition_->role(), Role::kLeader);
  EXPECT_EQ(apply({2, 3}, {2, 3}, 2, 6, 3), Transition::kRemoved);
  EXPECT_EQ(partition_->role(), Role::kNone);
}

TEST_F(PartitionLeaderTest, LowWatermarkIsTheLowestLogStartOfLiveReplicas) {
  make();
  apply({1, 2, 3}, {1, 2, 3}, 1, 1, 0);
  ASSERT_TRUE(append(10).ok());
  EXPECT_EQ(partition_->low_watermark(), -1) << "followers have not reported their log start yet";
  ASSERT_TRUE(log_->delete_records_before(0).ok());
  partition_->update_follower_fetch_state(2, -1, 10, 0, 10);
  partition_->update_follower_fetch_state(3, -1, 10, 0, 10);
  ASSERT_EQ(partition_->high_watermark(), 10);
  ASSERT_TRUE(log_->delete_records_before(6).ok());
  EXPECT_EQ(partition_->low_watermark(), 0);
  EXPECT_TRUE(partition_->update_follower_fetch_state(2, -1, 10, 6, 10)) << "a moved log start wakes waiters";
  EXPECT_EQ(partition_->low_watermark(), 0);
  EXPECT_TRUE(partition_->update_follower_fetch_state(3, -1, 10, 6, 10));
  EXPECT_EQ(partition_->low_watermark(), 6);
  EXPECT_FALSE(partition_->update_follower_fetch_state(3, -1, 10, 6, 10));
}

TEST_F(PartitionLeaderTest, CaughtUpFollowerJoinsTheIsr) {
  make();
  apply({1, 2, 3}, {1}, 1, 1, 0);
  ASSERT_TRUE(append(5).ok());
  EXPECT_EQ(partition_->high_watermark(), 5);
  fetch(2, 3, 102);
  EXPECT_EQ(partition_->high_watermark(), 5);
  EXPECT_TRUE(sent_.empty()) << "below the high watermark: not in sync";
  fetch(2, 5, 102);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(ids(*sent_[0]), (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(sent_[0]->new_isr[0].second, 101);  // the leader's own broker epoch
  EXPECT_EQ(sent_[0]->new_isr[1].second, 102);  // what the follower fetched with
  EXPECT_EQ(sent_[0]->partition_epoch, 0);
  EXPECT_EQ(sent_[0]->leader_epoch, 1);
  EXPECT_EQ(sent_[0]->partition_ref.lock(), partition_);
  EXPECT_EQ(partition_->maximal_isr(), (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(partition_->isr(), (std::vector<int32_t>{1}));

  // The pending member counts for the high watermark at once.
  ASSERT_TRUE(append(2).ok());
  EXPECT_EQ(partition_->high_watermark(), 5);
  fetch(3, 7, 103);
  EXPECT_EQ(sent_.size(), 1u) << "one update in flight at a time";
  EXPECT_TRUE(fetch(2, 7, 102));
  EXPECT_EQ(partition_->high_watermark(), 7);

  PartitionImage answer;
  answer.leader = 1;
  answer.leader_epoch = 1;
  answer.partition_epoch = 1;
  answer.isr = {1, 2};
  partition_->on_isr_update_result(*sent_[0], ErrorCode::NONE, &answer);
  EXPECT_EQ(partition_->isr(), (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(partition_->partition_epoch(), 1);
  // The next caught-up follower is sent now; the image that follows changes nothing.
  fetch(3, 7, 103);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(ids(*sent_[1]), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(sent_[1]->partition_epoch, 1);
}

TEST_F(PartitionLeaderTest, IneligibleReplicasDoNotJoin) {
  image_.brokers[2].fenced = true;
  image_.brokers[3].in_controlled_shutdown = true;
  make();
  apply({1, 2, 3}, {1}, 1, 1, 0);
  fetch(2, 0, 102);
  fetch(3, 0, 103);
  EXPECT_TRUE(sent_.empty());
  image_.brokers[2].fenced = false;
  image_.brokers[3].in_controlled_shutdown = false;
  apply({1, 2, 3}, {1}, 1, 1, 0);  // same partition: only the registrations moved
  fetch(2, 0, 99);  // KIP-903: fetched with an old broker epoch
  EXPECT_TRUE(sent_.empty());
  fetch(2, 0, 102);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(ids(*sent_[0]), (std::vector<int32_t>{1, 2}));
}

TEST_F(PartitionLeaderTest, NoSenderNoIsrChange) {
  make(1, /*with_sender=*/false);
  apply({1, 2}, {1}, 1, 1, 0);
  fetch(2, 0);
  EXPECT_EQ(partition_->maximal_isr(), (std::vector<int32_t>{1}));
  now_ += 60'000;
  partition_->maybe_shrink_isr(30'000);
  EXPECT_EQ(partition_->isr(), (std::vector<int32_t>{1}));
}

TEST_F(PartitionLeaderTest, LaggingFollowerLeavesTheIsr) {
  make();
  apply({1, 2, 3}, {1, 2, 3}, 1, 1, 0);
  ASSERT_TRUE(append(4).ok());
  fetch(2, 4);
  fetch(3, 1);
  now_ += 20'000;
  partition_->maybe_shrink_isr(30'000);
  EXPECT_TRUE(sent_.empty()) << "a new leader's followers count as caught up when it took over";
  ASSERT_TRUE(append(1).ok());
  now_ += 15'000;
  fetch(2, 5);
  partition_->maybe_shrink_isr(30'000);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(ids(*sent_[0]), (std::vector<int32_t>{1, 2}));
  // Until the controller agrees the leaving member still holds the high watermark.
  EXPECT_EQ(partition_->maximal_isr(), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(partition_->high_watermark(), 1);

  // Refused: the committed ISR stands, the next check asks again.
  partition_->on_isr_update_result(*sent_[0], ErrorCode::INVALID_UPDATE_VERSION, nullptr);
  EXPECT_EQ(partition_->isr(), (std::vector<int32_t>{1, 2, 3}));
  partition_->maybe_shrink_isr(30'000);
  ASSERT_EQ(sent_.size(), 2u);
  // A stale answer (for the first update) is ignored.
  PartitionImage answer;
  answer.leader = 1;
  answer.leader_epoch = 1;
  answer.partition_epoch = 1;
  answer.isr = {1, 2};
  partition_->on_isr_update_result(*sent_[0], ErrorCode::NONE, &answer);
  EXPECT_EQ(partition_->isr(), (std::vector<int32_t>{1, 2, 3}));
  // The image with the change is the final word: the high watermark moves.
  apply({1, 2, 3}, {1, 2}, 1, 1, 1);
  EXPECT_EQ(partition_->high_watermark(), 5);
  EXPECT_EQ(partition_->maximal_isr(), (std::vector<int32_t>{1, 2}));
}

TEST_F(PartitionLeaderTest, FollowerCaughtUpToTheEndIsNeverDropped) {
  make();
  apply({1, 2}, {1, 2}, 1, 1, 0);
  fetch(2, 0);
  now_ += 100'000;  // idle partition: the follower is at the end the whole time
  partition_->maybe_shrink_isr(30'000);
  EXPECT_TRUE(sent_.empty());
}

TEST_F(PartitionLeaderTest, DivergingEpoch) {
  make();
  apply({1, 2}, {1}, 1, 1, 0);
  ASSERT_TRUE(append(3).ok());  // epoch 1: offsets 0-2
  apply({1, 2}, {1}, 1, 2, 1);
  ASSERT_TRUE(append(2).ok());  // epoch 2: offsets 3-4
  EXPECT_EQ(partition_->end_offset_for_epoch(1), std::make_pair(1, int64_t{3}));
  EXPECT_EQ(partition_->diverging_epoch(3, 1), std::nullopt);
  EXPECT_EQ(partition_->diverging_epoch(5, 2), std::nullopt);
  // A follower that wrote offsets 3.. in epoch 1 (a leader that lost them).
  EXPECT_EQ(partition_->diverging_epoch(4, 1), std::make_pair(1, int64_t{3}));
  // An epoch past this log's latest: unknown, as Kafka's LeaderEpochFileCache answers.
  EXPECT_EQ(partition_->diverging_epoch(7, 3), std::make_pair(-1, int64_t{-1}));
  EXPECT_EQ(partition_->diverging_epoch(0, -1), std::nullopt);
}

TEST_F(PartitionLeaderTest, NewLeaderEpochStartsAtTheLogEnd) {
  make();
  apply({1, 2}, {1, 2}, 2, 1, 0);
  // As follower, nothing counts; as leader the epoch starts at the log end.
  EXPECT_EQ(apply({1, 2}, {1, 2}, 1, 2, 1), Transition::kBecameLeader);
  auto entries = log_->leader_epoch_cache().entries();
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries.back().epoch, 2);
  EXPECT_EQ(entries.back().start_offset, 0);
}

TEST_F(PartitionLeaderTest, DelayedProduceCompletesWhenTheHighWatermarkMoves) {
  make();
  FetchWaiters waiters;
  Scheduler scheduler;
  PartitionHooks hooks;
  hooks.on_progress = [&](const std::string& t, int32_t p) { waiters.notify(t, p); };
  partition_ = std::make_shared<Partition>("t", 0, protocol::Uuid{}, log_, 1, std::move(hooks));
  apply({1, 2}, {1, 2}, 1, 1, 0);
  auto r = append(2);
  ASSERT_TRUE(r.ok());
  std::mutex mu;
  std::condition_variable cv;
  std::optional<std::vector<ErrorCode>> result;
  await_replication(waiters, &scheduler, {{partition_, 2}}, 10'000, [&](std::vector<ErrorCode> e) {
    std::lock_guard lock(mu);
    result = std::move(e);
    cv.notify_all();
  });
  {
    std::lock_guard lock(mu);
    EXPECT_FALSE(result.has_value());
  }
  EXPECT_EQ(waiters.size(), 1u);
  // The follower's fetch moves the high watermark; whoever moves it notifies.
  if (partition_->update_follower_fetch_state(2, -1, 2, 0, 2)) waiters.notify("t", 0);
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return result.has_value(); }));
  EXPECT_EQ(*result, std::vector<ErrorCode>{ErrorCode::NONE});
  EXPECT_EQ(waiters.size(), 0u);
  scheduler.stop();
}

TEST_F(PartitionLeaderTest, DelayedProduceTimesOut) {
  make();
  FetchWaiters waiters;
  Scheduler scheduler;
  apply({1, 2}, {1, 2}, 1, 1, 0);
  ASSERT_TRUE(append(1).ok());
  std::mutex mu;
  std::condition_variable cv;
  std::optional<std::vector<ErrorCode>> result;
  auto start = std::chrono::steady_clock::now();
  await_replication(waiters, &scheduler, {{partition_, 1}}, 100, [&](std::vector<ErrorCode> e) {
    std::lock_guard lock(mu);
    result = std::move(e);
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return result.has_value(); }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(90));
  EXPECT_EQ(*result, std::vector<ErrorCode>{ErrorCode::REQUEST_TIMED_OUT});
  EXPECT_EQ(waiters.size(), 0u);
  scheduler.stop();
}

}  // namespace
}  // namespace samsa::broker::replica
