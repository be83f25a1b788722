// LogSegment::translate_offset at the tail answers from the recent-batches
// ring (recent_batches.h) without reading the file, and gives the answer the
// header scan gives for every offset and limit: after truncation, a roll,
// recovery, and while another thread appends.
#include <atomic>
#include <thread>

#include "log_test_util.h"
#include "samsa/log/segment.h"

namespace samsa::log {
namespace {

using protocol::RecordBatchHeader;

// The posix filesystem, counting reads of files opened through it.
class CountingEnv final : public util::Env {
 public:
  std::atomic<uint64_t> reads{0};

  std::unique_ptr<util::File> open_file(const std::string& path, bool create) override {
    return std::make_unique<CountingFile>(base().open_file(path, create), reads);
  }
  void rename(const std::string& f, const std::string& t) override { base().rename(f, t); }
  bool remove_file(const std::string& p) override { return base().remove_file(p); }
  bool remove_dir(const std::string& p) override { return base().remove_dir(p); }
  bool exists(const std::string& p) override { return base().exists(p); }
  bool is_directory(const std::string& p) override { return base().is_directory(p); }
  std::vector<util::DirEntry> list_dir(const std::string& d) override { return base().list_dir(d); }
  void create_dirs(const std::string& d) override { base().create_dirs(d); }
  void sync_dir(const std::string& d) override { base().sync_dir(d); }

 private:
  static util::Env& base() { return util::Env::posix(); }
  class CountingFile final : public util::File {
   public:
    CountingFile(std::unique_ptr<util::File> f, std::atomic<uint64_t>& reads) : f_(std::move(f)), reads_(reads) {}
    void write_at(std::span<const uint8_t> d, uint64_t p) override { f_->write_at(d, p); }
    void write_gather_at(std::span<const std::span<const uint8_t>> pieces, uint64_t p) override {
      f_->write_gather_at(pieces, p);
    }
    size_t read_at(std::span<uint8_t> d, uint64_t p) override {
      reads_.fetch_add(1);
      return f_->read_at(d, p);
    }
    void sync() override { f_->sync(); }
    void truncate(uint64_t s) override { f_->truncate(s); }
    void allocate(uint64_t o, uint64_t l) override { f_->allocate(o, l); }
    uint64_t size() override { return f_->size(); }
    int64_t mtime_ms() override { return f_->mtime_ms(); }
    int native_fd() const override { return f_->native_fd(); }

   private:
    std::unique_ptr<util::File> f_;
    std::atomic<uint64_t>& reads_;
  };
};

constexpr int64_t kBase = 1000;
constexpr int kRecordsPerBatch = 3;

struct SegmentRecentBatchesTest : ::testing::Test {
  test::TempDir tmp;
  CountingEnv env;
  util::ScopedMount mount{tmp.path(), &env};
  LogConfig config = [] {
    LogConfig c;
    c.segment_bytes = 64 << 20;
    c.segment_index_bytes = 1 << 20;
    c.index_interval_bytes = 4096;  // sparse: a scan reads several headers
    return c;
  }();
  std::shared_ptr<LogSegment> seg = LogSegment::create(tmp.path(), kBase, config, 0);
  std::vector<BatchLocation> written;  // what the file holds, in order

  void append(int n, int batches_per_append = 1) {
    for (int i = 0; i < n; i += batches_per_append) {
      std::vector<uint8_t> bytes;
      for (int j = 0; j < batches_per_append; ++j) {
        auto b = test::make_batch(kRecordsPerBatch, 0, 50 + (written.size() % 7) * 10);
        protocol::set_base_offset(b, seg->next_offset() + static_cast<int64_t>(j) * kRecordsPerBatch);
        bytes.insert(bytes.end(), b.begin(), b.end());
      }
      auto split = protocol::split_batches(bytes, true);
      uint64_t pos = seg->size();
      for (const auto& v : split.batches) {
        written.push_back({pos, v.header});
        pos += v.bytes.size();
      }
      seg->append(bytes, split.batches);
    }
  }

  // The header scan's answer, from what the test wrote.
  std::optional<BatchLocation> expected(int64_t offset, uint64_t limit) const {
    for (const auto& b : written) {
      if (b.end() > limit) return std::nullopt;
      if (b.header.last_offset() >= offset) return b;
    }
    return std::nullopt;
  }

  // Every offset around the segment's, at the published size and at a few
  // smaller limits (batch ends and points inside batches).
  void expect_same_as_scan(const std::string& what) {
    std::vector<uint64_t> limits{seg->size()};
    for (size_t i = written.size(); i > 0 && limits.size() < 6; i -= std::min<size_t>(i, 37)) {
      limits.push_back(written[i - 1].end());
      limits.push_back(written[i - 1].position + 30);
    }
    for (uint64_t limit : limits) {
      for (int64_t off = kBase - 2; off <= seg->next_offset() + 2; ++off) {
        auto got = seg->translate_offset(off, limit);
        auto want = expected(off, limit);
        ASSERT_EQ(got.has_value(), want.has_value()) << what << ": offset " << off << " limit " << limit;
        if (got) {
          EXPECT_EQ(got->position, want->position) << what << ": offset " << off;
          EXPECT_EQ(got->header, want->header) << what << ": offset " << off;
        }
      }
    }
  }

  uint64_t reads_for(int64_t offset) {
    const uint64_t before = env.reads.load();
    EXPECT_TRUE(seg->translate_offset(offset, seg->size()).has_value()) << offset;
    return env.reads.load() - before;
  }
};

TEST_F(SegmentRecentBatchesTest, RecentOffsetsNeedNoFileRead) {
  append(400);
  const int64_t end = seg->next_offset();
  const int64_t oldest_in_ring = written[written.size() - RecentBatches::kCapacity].header.base_offset;
  for (int64_t off = oldest_in_ring; off < end; ++off) EXPECT_EQ(reads_for(off), 0u) << off;
  // Older offsets still scan the file (the counter does count reads).
  EXPECT_GT(reads_for(kBase + 10), 0u);
  EXPECT_GT(reads_for(oldest_in_ring - 1), 0u);
  // At the end: nothing to find, and no read either.
  const uint64_t before = env.reads.load();
  EXPECT_FALSE(seg->translate_offset(end, seg->size()).has_value());
  EXPECT_EQ(env.reads.load(), before);
}

TEST_F(SegmentRecentBatchesTest, SameAnswerAsScanForEveryOffset) {
  append(40);
  expect_same_as_scan("short segment (whole segment in the ring)");
  append(300, 5);  // several batches per append, as a produce request
  expect_same_as_scan("long segment");
}

TEST_F(SegmentRecentBatchesTest, SameAnswerAfterTruncation) {
  append(300);
  auto truncate = [&](int64_t offset) {
    auto cut = expected(offset, seg->size());
    ASSERT_TRUE(cut);
    seg->truncate_to(offset);
    while (!written.empty() && written.back().position >= cut->position) written.pop_back();
    ASSERT_EQ(seg->size(), written.empty() ? 0 : written.back().end());
  };
  truncate(seg->next_offset() - 10 * kRecordsPerBatch + 1);  // inside the ring
  expect_same_as_scan("truncated inside the ring");
  EXPECT_EQ(reads_for(seg->next_offset() - 1), 0u);
  append(20);
  expect_same_as_scan("appended after truncation");
  truncate(kBase + 50 * kRecordsPerBatch);  // before the ring's oldest batch
  expect_same_as_scan("truncated below the ring");
  append(10);
  expect_same_as_scan("appended after the second truncation");
  EXPECT_EQ(reads_for(seg->next_offset() - 1), 0u);
}

TEST_F(SegmentRecentBatchesTest, RolledSegmentDropsTheRingAndScans) {
  append(200);
  seg->on_become_inactive();
  expect_same_as_scan("inactive");
  EXPECT_GT(reads_for(seg->next_offset() - 1), 0u);
  seg->on_become_active();  // after a truncation removed the later segments
  append(5);
  expect_same_as_scan("active again");
  EXPECT_EQ(reads_for(seg->next_offset() - 1), 0u);
}

TEST_F(SegmentRecentBatchesTest, RecoveryRefillsTheRing) {
  append(200);
  seg->flush();
  seg->close();
  seg = LogSegment::open(tmp.path(), kBase, config, 0);
  expect_same_as_scan("reopened, before recovery");  // ring empty: scans
  seg->recover(nullptr);
  EXPECT_EQ(reads_for(seg->next_offset() - 1), 0u);
  expect_same_as_scan("recovered");
}

TEST_F(SegmentRecentBatchesTest, ConcurrentAppendAndTranslate) {
  // Equal batches: batch i holds offsets kBase + 3i .. +2 at position i * size.
  auto one = test::make_batch(kRecordsPerBatch, 0, 100);
  const uint64_t batch_size = one.size();
  constexpr int kBatches = 3000;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<uint64_t> found{0};
  auto reader = [&] {
    uint64_t seed = 1;
    while (!done.load()) {
      // The offsets below the published size (next_offset() may be newer).
      const uint64_t limit = seg->size();
      const int64_t next = kBase + static_cast<int64_t>(limit / batch_size) * kRecordsPerBatch;
      if (next == kBase) continue;
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      // Mostly the tail (the ring), sometimes older offsets (the scan).
      const int64_t span = (seed >> 60) == 0 ? next - kBase : std::min<int64_t>(next - kBase, 300);
      const int64_t off = next - 1 - static_cast<int64_t>((seed >> 20) % static_cast<uint64_t>(span));
      auto b = seg->translate_offset(off, limit);
      const int64_t i = (off - kBase) / kRecordsPerBatch;
      if (!b || b->header.base_offset != kBase + i * kRecordsPerBatch ||
          b->position != static_cast<uint64_t>(i) * batch_size || b->end() > limit) {
        bad.fetch_add(1);
      }
      found.fetch_add(1);
    }
  };
  std::thread r1(reader), r2(reader);
  for (int i = 0; i < kBatches; ++i) {
    auto b = one;
    protocol::set_base_offset(b, seg->next_offset());
    seg->append(b, protocol::split_batches(b, true).batches);
  }
  done = true;
  r1.join();
  r2.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(found.load(), 0u);
}

}  // namespace
}  // namespace samsa::log
