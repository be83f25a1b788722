// PeerLogLimiter: a flood from one address becomes one line and a summary.
#include "samsa/net/peer_log_limiter.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

namespace samsa::net {
namespace {

struct Captured {
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> log;
  Captured() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    sink->set_pattern("%v");
    log = std::make_shared<spdlog::logger>("test", sink);
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> v;
    std::istringstream in(out.str());
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
  }
};

TEST(PeerLogLimiter, FloodFromOneAddressIsSummarised) {
  Captured c;
  PeerLogLimiter limiter(std::chrono::seconds(10));
  auto t0 = PeerLogLimiter::Clock::now();
  for (int i = 0; i < 2000; ++i)
    limiter.log(c.log, spdlog::level::warn, "10.0.0.1:" + std::to_string(40000 + i), "bad " + std::to_string(i),
                t0 + std::chrono::milliseconds(i));
  limiter.log(c.log, spdlog::level::warn, "10.0.0.2:1", "other peer", t0);
  limiter.flush(t0 + std::chrono::seconds(5));  // window still open: nothing yet
  ASSERT_EQ(c.lines().size(), 2u);
  limiter.flush(t0 + std::chrono::seconds(11));
  auto lines = c.lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "bad 0");
  EXPECT_EQ(lines[1], "other peer");
  EXPECT_NE(lines[2].find("1999 more"), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("10.0.0.1"), std::string::npos) << lines[2];
  EXPECT_EQ(limiter.tracked_peers(), 0u);
  // After the window a new line is logged again.
  limiter.log(c.log, spdlog::level::warn, "10.0.0.1:5", "again", t0 + std::chrono::seconds(12));
  EXPECT_EQ(c.lines().back(), "again");
}

TEST(PeerLogLimiter, ManyAddressesShareOneEntryBeyondTheCap) {
  Captured c;
  PeerLogLimiter limiter(std::chrono::seconds(10), 4);
  auto t0 = PeerLogLimiter::Clock::now();
  for (int i = 0; i < 100; ++i) limiter.log(c.log, spdlog::level::warn, "10.0.1." + std::to_string(i) + ":1", "x", t0);
  EXPECT_LE(limiter.tracked_peers(), 5u);
  EXPECT_EQ(c.lines().size(), 5u);
}

TEST(PeerHost, StripsThePort) {
  EXPECT_EQ(peer_host("127.0.0.1:9092"), "127.0.0.1");
  EXPECT_EQ(peer_host("::1:9092"), "::1");
  EXPECT_EQ(peer_host("accept"), "accept");
}

}  // namespace
}  // namespace samsa::net
