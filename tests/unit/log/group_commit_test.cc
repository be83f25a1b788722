// Group commit (group_commit.h): appends only request a flush; one flush job
// at a time covers every append written before it started; the durable
// offset moves only after the fsync; a failed fsync stops everything.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <thread>

#include "log_test_util.h"
#include "samsa/log/flusher.h"
#include "samsa/log/group_commit.h"

namespace samsa::log {
namespace {

// Jobs posted to a "flush thread" that the test runs by hand.
struct ManualFlusher {
  std::deque<std::function<void()>> jobs;
  std::function<void(std::function<void()>)> post() {
    return [this](std::function<void()> job) { jobs.push_back(std::move(job)); };
  }
  size_t run_all() {
    size_t n = 0;
    while (!jobs.empty()) {
      auto job = std::move(jobs.front());
      jobs.pop_front();
      job();
      ++n;
    }
    return n;
  }
};

TEST(GroupCommitTest, RequestsCoalesceIntoOneJobThatCoversTheEndAtItsStart) {
  int64_t end = 0, durable = 0;
  std::vector<int64_t> synced;
  int notified = 0;
  ManualFlusher flusher;
  GroupCommitter* self = nullptr;
  GroupCommitter committer({.end = [&] { return end; },
                            .durable = [&] { return durable; },
                            .sync =
                                [&](int64_t e) {
                                  synced.push_back(e);
                                  durable = e;
                                },
                            .schedule = [&] { flusher.post()([&] { self->run(); }); },
                            .on_durable = [&] { ++notified; }});
  self = &committer;
  for (int i = 1; i <= 50; ++i) {
    end = i;
    committer.request(i);  // returns at once: nothing synced yet
  }
  EXPECT_TRUE(synced.empty());
  EXPECT_EQ(flusher.jobs.size(), 1u);
  EXPECT_EQ(flusher.run_all(), 1u);
  EXPECT_EQ(synced, std::vector<int64_t>{50});
  EXPECT_EQ(notified, 1);
  EXPECT_EQ(committer.fsync_count(), 1u);
  committer.request(50);  // already durable: no job
  EXPECT_TRUE(flusher.jobs.empty());
}

TEST(GroupCommitTest, ARequestDuringAFlushGetsOneMoreFlush) {
  int64_t end = 10, durable = 0;
  std::vector<int64_t> synced;
  ManualFlusher flusher;
  GroupCommitter* self = nullptr;
  GroupCommitter committer({.end = [&] { return end; },
                            .durable = [&] { return durable; },
                            .sync =
                                [&](int64_t e) {
                                  // Appends go on while the fsync runs.
                                  if (synced.empty()) {
                                    end = 15;
                                    self->request(12);
                                    self->request(15);
                                  }
                                  synced.push_back(e);
                                  durable = e;
                                },
                            .schedule = [&] { flusher.post()([&] { self->run(); }); }});
  self = &committer;
  committer.request(10);
  EXPECT_EQ(flusher.run_all(), 2u);
  EXPECT_EQ(synced, (std::vector<int64_t>{10, 15}));
}

TEST(GroupCommitTest, AFailedFsyncStopsTheCommitterForGood) {
  int64_t end = 5, durable = 0;
  int syncs = 0, notified = 0;
  ManualFlusher flusher;
  GroupCommitter* self = nullptr;
  GroupCommitter committer({.end = [&] { return end; },
                            .durable = [&] { return durable; },
                            .sync =
                                [&](int64_t) {
                                  ++syncs;
                                  throw std::runtime_error("disk on fire");
                                },
                            .schedule = [&] { flusher.post()([&] { self->run(); }); },
                            .on_durable = [&] { ++notified; }});
  self = &committer;
  committer.request(5);
  flusher.run_all();
  EXPECT_TRUE(committer.failed());
  EXPECT_EQ(durable, 0);
  EXPECT_EQ(notified, 1);  // the waiters learn it
  // A later fsync that succeeds would prove nothing about the lost pages.
  end = 9;
  committer.request(9);
  EXPECT_TRUE(flusher.jobs.empty());
  EXPECT_EQ(syncs, 1);
}

TEST(GroupCommitTest, ConcurrentAppendersOnAFlusherShareFsyncs) {
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<int64_t> end{0};
  int64_t durable = 0;  // under mu
  std::atomic<int> violations{0};
  Flusher flusher(2);
  GroupCommitter* self = nullptr;
  GroupCommitter committer({.end = [&] { return end.load(); },
                            .durable =
                                [&] {
                                  std::lock_guard lock(mu);
                                  return durable;
                                },
                            .sync =
                                [&](int64_t e) {
                                  std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a slow disk
                                  std::lock_guard lock(mu);
                                  durable = std::max(durable, e);
                                },
                            .schedule = [&] { flusher.post([&] { self->run(); }); },
                            .on_durable = [&] { cv.notify_all(); }});
  self = &committer;
  std::mutex append_mu;
  constexpr int kThreads = 8, kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        int64_t mine;
        {
          std::lock_guard lock(append_mu);  // the log's append lock
          mine = ++end;
          committer.request(mine);
        }
        std::unique_lock lock(mu);
        if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return durable >= mine; })) ++violations;
      }
    });
  }
  for (auto& t : threads) t.join();
  committer.stop();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(committer.fsync_count(), 0u);
  // Coalesced: far fewer fsyncs than appends.
  EXPECT_LT(committer.fsync_count(), static_cast<uint64_t>(kThreads * kPerThread) / 2);
}

// --- the Log in durable mode (flush.messages) with a flusher ---

struct DurableLogTest : test::LogFixture {
  ManualFlusher flusher;
  int notified = 0;

  std::shared_ptr<Log> open_durable() {
    LogOpenOptions o;
    o.dir = log_dir();
    o.tp = {"topic", 0};
    o.config = config;
    o.clock = clock;
    o.flusher = flusher.post();
    auto r = Log::open(o);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return nullptr;
    r.value()->set_durable_listener([this] { ++notified; });
    return r.value();
  }
};

TEST_F(DurableLogTest, AppendsOnlyRequestAFlushAndTheRecoveryPointMovesAfterIt) {
  config.flush_messages = 1;
  config.segment_bytes = 1 << 20;
  auto log = open_durable();
  ASSERT_TRUE(log);
  const uint64_t fsyncs_before = log->fsync_count();
  for (int i = 0; i < 40; ++i) {
    auto batch = test::make_batch(2, clock->now_ms());
    auto r = log->append_as_leader(batch, 0);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->awaits_flush);
  }
  EXPECT_EQ(log->log_end_offset(), 80);
  EXPECT_EQ(log->durable_offset(), 0);
  EXPECT_EQ(log->fsync_count(), fsyncs_before);
  // Consumers see only what is on disk while the flush is pending.
  log->advance_high_watermark(80);
  EXPECT_EQ(log->high_watermark(), 0);

  EXPECT_EQ(flusher.jobs.size(), 1u);  // 40 requests, one job
  flusher.run_all();
  EXPECT_EQ(log->durable_offset(), 80);
  EXPECT_EQ(log->recovery_point(), 0);  // the indexes are fsynced by flush()
  EXPECT_EQ(log->group_commit_count(), 1u);
  EXPECT_EQ(notified, 1);
  log->advance_high_watermark(80);
  EXPECT_EQ(log->high_watermark(), 80);
}

TEST_F(DurableLogTest, OnlyTheAppendThatReachesFlushMessagesWaits) {
  config.flush_messages = 10;
  auto log = open_durable();
  ASSERT_TRUE(log);
  std::vector<bool> waits;
  for (int i = 0; i < 4; ++i) {  // 3 records each: the 4th append makes 12 >= 10
    auto batch = test::make_batch(3, clock->now_ms());
    auto r = log->append_as_leader(batch, 0);
    ASSERT_TRUE(r.ok());
    waits.push_back(r->awaits_flush);
  }
  EXPECT_EQ(waits, (std::vector<bool>{false, false, false, true}));
  // Appends before the flush request stay visible.
  log->advance_high_watermark(9);
  EXPECT_EQ(log->high_watermark(), 0);  // capped while the flush is pending
  flusher.run_all();
  EXPECT_EQ(log->durable_offset(), 12);
}

TEST_F(DurableLogTest, ARetriedDuplicateWaitsForTheSameFlush) {
  config.flush_messages = 1;
  auto log = open_durable();
  ASSERT_TRUE(log);
  protocol::RecordBatchOptions idempotent;
  idempotent.producer_id = 7;
  idempotent.producer_epoch = 0;
  idempotent.base_sequence = 0;
  const auto original = test::make_batch(3, clock->now_ms(), 10, idempotent);
  auto batch = original, retry = original, retry2 = original;
  auto first = log->append_as_leader(batch, 0);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->awaits_flush);
  auto dup = log->append_as_leader(retry, 0);
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate);
  EXPECT_TRUE(dup->awaits_flush);
  flusher.run_all();
  auto again = log->append_as_leader(retry2, 0);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->duplicate);
  EXPECT_FALSE(again->awaits_flush);  // durable already
}

TEST_F(DurableLogTest, NoFlushRunsOnceTheLogIsDeleted) {
  config.flush_messages = 1;
  auto log = open_durable();
  ASSERT_TRUE(log);
  auto batch = test::make_batch(2, clock->now_ms());
  ASSERT_TRUE(log->append_as_leader(batch, 0).ok());
  log->mark_deleted();
  // LogManager renames the directory away now: a flush by the old name
  // would fail and take the log dir offline.
  std::filesystem::rename(log_dir(), log_dir() + ".x-delete");
  flusher.run_all();
  EXPECT_EQ(log->group_commit_count(), 0u);
  EXPECT_FALSE(log->offline());
}

TEST_F(DurableLogTest, WithoutAFlusherTheAppendFlushesInline) {
  config.flush_messages = 1;
  auto log = open_log();
  auto batch = test::make_batch(2, clock->now_ms());
  auto r = log->append_as_leader(batch, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->awaits_flush);
  EXPECT_EQ(log->durable_offset(), 2);
}

TEST_F(DurableLogTest, FollowersFlushInline) {
  config.flush_messages = 1;
  auto log = open_durable();
  ASSERT_TRUE(log);
  protocol::RecordBatchOptions replicated;
  replicated.partition_leader_epoch = 0;
  auto batch = test::make_batch(2, clock->now_ms(), 10, replicated);
  auto r = log->append_as_follower(batch);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(log->durable_offset(), 2);
  EXPECT_TRUE(flusher.jobs.empty());
}

TEST_F(DurableLogTest, ThreadsAppendDurablyWithFewerFsyncs) {
  config.flush_messages = 1;
  config.segment_bytes = 1 << 20;
  Flusher real(2);
  LogOpenOptions o;
  o.dir = log_dir();
  o.tp = {"topic", 0};
  o.config = config;
  o.clock = clock;
  o.flusher = [&real](std::function<void()> job) { real.post(std::move(job)); };
  auto log = Log::open(o).value();
  std::mutex mu;
  std::condition_variable cv;
  log->set_durable_listener([&] {
    std::lock_guard lock(mu);
    cv.notify_all();
  });
  constexpr int kThreads = 6, kPerThread = 40;
  std::atomic<int> late{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        auto batch = test::make_batch(1, clock->now_ms());
        auto r = log->append_as_leader(batch, 0);
        ASSERT_TRUE(r.ok());
        ASSERT_TRUE(r->awaits_flush);
        std::unique_lock lock(mu);
        if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return log->durable_offset() > r->last_offset; }))
          ++late;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(late.load(), 0);
  EXPECT_EQ(log->log_end_offset(), kThreads * kPerThread);
  EXPECT_GT(log->group_commit_count(), 0u);
  EXPECT_LE(log->group_commit_count(), static_cast<uint64_t>(kThreads * kPerThread));
  log->close();
  log.reset();
  auto again = open_log(false);
  EXPECT_EQ(again->log_end_offset(), kThreads * kPerThread);
}

}  // namespace
}  // namespace samsa::log
