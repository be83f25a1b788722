// Group commit: concurrent appenders share fsyncs, and every append is
// covered by an fsync that started after it was written.
#include <atomic>
#include <thread>

#include "log_test_util.h"
#include "samsa/log/group_commit.h"

namespace samsa::log {
namespace {

TEST(GroupCommitTest, ConcurrentWaitersShareFsyncs) {
  std::atomic<uint64_t> written{0};      // writes completed
  std::atomic<uint64_t> synced_upto{0};  // what the last fsync covered
  GroupCommitter committer([&] {
    uint64_t covers = written.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a slow disk
    synced_upto.store(std::max(synced_upto.load(), covers));
  });
  std::mutex write_mu;
  constexpr int kThreads = 8, kPerThread = 50;
  std::atomic<int> violations{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        uint64_t ticket, my_write;
        {
          std::lock_guard lock(write_mu);
          my_write = ++written;
          ticket = committer.ticket();
        }
        EXPECT_FALSE(committer.wait_durable(ticket));
        if (synced_upto.load() < my_write) ++violations;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_LT(committer.fsync_count(), static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_GT(committer.fsync_count(), 0u);
}

TEST(GroupCommitTest, NothingIsAcknowledgedAfterAFailedFsync) {
  bool fail = true;
  int syncs = 0;
  GroupCommitter committer([&] {
    ++syncs;
    if (fail) throw std::runtime_error("disk on fire");
  });
  auto t = committer.ticket();
  EXPECT_EQ(committer.wait_durable(t), "disk on fire");
  // A later fsync that succeeds proves nothing about the pages the failed one
  // lost: the committer does not carry on.
  fail = false;
  auto t2 = committer.ticket();
  EXPECT_EQ(committer.wait_durable(t2), "disk on fire");
  EXPECT_EQ(syncs, 1);
}

struct FsyncPerAppendTest : test::LogFixture {};

TEST_F(FsyncPerAppendTest, ThreadsAppendDurablyWithFewerFsyncs) {
  config.fsync_per_append = true;
  config.segment_bytes = 1 << 20;
  auto log = open_log();
  constexpr int kThreads = 6, kPerThread = 40;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        auto batch = test::make_batch(1, clock->now_ms());
        ASSERT_TRUE(log->append_as_leader(batch, 0).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(log->log_end_offset(), kThreads * kPerThread);
  EXPECT_LE(log->fsync_count(), static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_GT(log->fsync_count(), 0u);
  log.reset();
  auto again = open_log(false);
  EXPECT_EQ(again->log_end_offset(), kThreads * kPerThread);
}

}  // namespace
}  // namespace samsa::log
