// Appenders and readers on different threads: readers only ever see whole,
// CRC-valid batches below the published log end offset.
#include <atomic>
#include <chrono>
#include <thread>

#include "log_test_util.h"

namespace samsa::log {
namespace {

struct ConcurrencyTest : test::LogFixture {};

TEST_F(ConcurrencyTest, ReadersSeeOnlyCompleteBatches) {
  config.segment_bytes = 8192;
  config.retention_bytes = 64 * 1024;
  auto log = open_log();
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<long> reads{0};
  constexpr int kWriters = 3, kPerWriter = 300;

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        auto batch = test::make_batch(1 + (i + w) % 3, clock->now_ms(), 50);
        if (!log->append_as_leader(batch, 0).ok()) ++bad;
        log->set_high_watermark(log->log_end_offset());
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      while (!done.load()) {
        const int64_t start = log->log_start_offset();
        const int64_t end = log->log_end_offset();
        if (end == start) continue;
        const int64_t off = start + (end - start) / 2;
        auto range = log->read(off, 4096, true, end);
        if (!range.ok()) {
          // Retention may have moved the start meanwhile.
          if (range.error().code != LogErrc::kOffsetOutOfRange) ++bad;
          continue;
        }
        auto bytes = test::read_range(*range);
        auto split = protocol::split_batches(bytes, false);
        if (split.valid_bytes != bytes.size() || split.batches.empty()) ++bad;
        for (const auto& b : split.batches) {
          if (!protocol::verify_crc(b.bytes) || b.header.last_offset() >= end) ++bad;
        }
        if (split.batches.empty() || split.batches.front().header.last_offset() < off) ++bad;
        ++reads;
      }
    });
  }
  threads.emplace_back([&] {
    while (!done.load()) {
      log->delete_old_segments();
      std::this_thread::yield();
    }
  });
  for (int w = 0; w < kWriters; ++w) threads[w].join();
  // On a busy machine the readers may not have run yet: give them a bounded
  // moment to read the finished log too.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (reads.load() < 20 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  done = true;
  for (size_t i = kWriters; i < threads.size(); ++i) threads[i].join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(log->log_end_offset(), kWriters * (kPerWriter / 3) * 6);
}

}  // namespace
}  // namespace samsa::log
