// SerialExecutor::post_after: delayed jobs run once due, in due order, and
// the ones not due yet run at destruction rather than being lost.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "samsa/util/serial_executor.h"

namespace samsa::util {
namespace {

using namespace std::chrono_literals;

TEST(SerialExecutorTest, DelayedJobsRunWhenDueInDueOrder) {
  std::mutex mu;
  std::vector<std::string> order;
  auto record = [&](std::string what) {
    std::lock_guard lock(mu);
    order.push_back(std::move(what));
  };
  {
    SerialExecutor ex("test-delayed");
    const auto start = std::chrono::steady_clock::now();
    std::atomic<int64_t> late_ms{-1};
    ex.post_after(200ms, [&] {
      late_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
      record("200ms");
    });
    ex.post_after(50ms, [&] { record("50ms"); });
    ex.post([&] { record("now"); });
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mu);
        if (order.size() == 3) break;
      }
      std::this_thread::sleep_for(5ms);
    }
    EXPECT_GE(late_ms.load(), 200);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"now", "50ms", "200ms"}));
}

TEST(SerialExecutorTest, DelayedJobsNotDueRunAtDestruction) {
  std::atomic<bool> ran{false};
  {
    SerialExecutor ex("test-delayed");
    ex.post_after(std::chrono::hours(1), [&] { ran = true; });
    EXPECT_FALSE(ran.load());
  }
  EXPECT_TRUE(ran.load());
}

}  // namespace
}  // namespace samsa::util
