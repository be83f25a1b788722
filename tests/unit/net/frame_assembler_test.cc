// FrameAssembler: frames cut from arbitrary pieces, memory that follows the
// bytes received rather than the size announced, and budget accounting.
#include "../../../src/net/frame_assembler.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace samsa::net {
namespace {

std::vector<uint8_t> prefix(int32_t n) {
  std::vector<uint8_t> p(4);
  uint32_t be = htonl(static_cast<uint32_t>(n));
  std::memcpy(p.data(), &be, 4);
  return p;
}

std::vector<uint8_t> frame_of(const std::string& body) {
  std::vector<uint8_t> f(4 + body.size());
  uint32_t be = htonl(static_cast<uint32_t>(body.size()));
  std::memcpy(f.data(), &be, 4);
  if (!body.empty()) std::memcpy(f.data() + 4, body.data(), body.size());
  return f;
}

TEST(FrameAssembler, AnnouncedSizeIsNotAllocatedUpFront) {
  auto budget = std::make_shared<RequestBudget>();
  FrameAssembler a(200u << 20, budget);
  auto bytes = prefix(100 << 20);
  bytes.resize(4 + 1024, 'x');
  size_t used = 0;
  EXPECT_EQ(a.feed(bytes.data(), bytes.size(), used), FrameAssembler::Status::kNeedMore);
  EXPECT_EQ(used, bytes.size());
  EXPECT_LE(a.allocated(), 8192u);
  EXPECT_EQ(budget->used(), 100 << 20);  // accounted, not allocated
  // Reading straight into the body grows with what arrives, doubling at most.
  for (int i = 0; i < 10; ++i) {
    auto space = a.body_space(1024);
    ASSERT_FALSE(space.empty());
    a.commit(std::min<size_t>(space.size(), 1024));
  }
  EXPECT_LE(a.allocated(), 2 * (11 * 1024) + 4096);
  a.reset();
  EXPECT_EQ(budget->used(), 0);
  EXPECT_EQ(a.allocated(), 0u);
}

TEST(FrameAssembler, FramesFromPiecesOfAnySize) {
  FrameAssembler a(1000, nullptr);
  std::vector<uint8_t> stream;
  for (const char* body : {"alpha", "", "a somewhat longer body"}) {
    auto f = frame_of(body);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  std::vector<std::string> got;
  for (size_t i = 0; i < stream.size();) {
    size_t n = std::min<size_t>(3, stream.size() - i);
    const uint8_t* p = stream.data() + i;
    i += n;
    while (true) {
      size_t used = 0;
      auto st = a.feed(p, n, used);
      p += used;
      n -= used;
      if (st == FrameAssembler::Status::kFrame) {
        auto f = a.take_frame();
        got.emplace_back(f->begin(), f->end());
        continue;
      }
      ASSERT_EQ(st, FrameAssembler::Status::kNeedMore);
      break;
    }
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], "alpha");
  EXPECT_EQ(got[1], "");
  EXPECT_EQ(got[2], "a somewhat longer body");
}

TEST(FrameAssembler, BadPrefixesAreReported) {
  FrameAssembler a(1000, nullptr);
  auto big = prefix(1001);
  size_t used = 0;
  EXPECT_EQ(a.feed(big.data(), 4, used), FrameAssembler::Status::kTooLarge);
  EXPECT_EQ(a.announced(), 1001);
  FrameAssembler b(1000, nullptr);
  auto neg = prefix(-5);
  EXPECT_EQ(b.feed(neg.data(), 4, used), FrameAssembler::Status::kNegative);
}

TEST(FrameAssembler, SpentBudgetBlocksUntilAFrameIsFreed) {
  auto budget = std::make_shared<RequestBudget>(10);
  FrameAssembler a(1000, budget), b(1000, budget);
  auto f1 = frame_of("0123456789AB");  // 12 bytes: allowed, the budget is not spent yet (as Kafka's pool)
  size_t used = 0;
  ASSERT_EQ(a.feed(f1.data(), f1.size(), used), FrameAssembler::Status::kFrame);
  FramePtr held = a.take_frame();
  EXPECT_EQ(budget->used(), 12);
  auto f2 = frame_of("x");
  ASSERT_EQ(b.feed(f2.data(), f2.size(), used), FrameAssembler::Status::kBlocked);
  EXPECT_EQ(used, 4u);  // the prefix only
  bool woken = false;
  budget->wait([&] { woken = true; });
  EXPECT_FALSE(woken);
  held.reset();  // the handler is done with the frame
  EXPECT_TRUE(woken);
  EXPECT_EQ(budget->used(), 0);
  ASSERT_EQ(b.feed(f2.data() + 4, 1, used), FrameAssembler::Status::kFrame);  // retries the reservation
  FramePtr second = b.take_frame();
  EXPECT_EQ(std::string(second->begin(), second->end()), "x");
  EXPECT_EQ(budget->used(), 1);
  second.reset();
  EXPECT_EQ(budget->used(), 0);
}

}  // namespace
}  // namespace samsa::net
