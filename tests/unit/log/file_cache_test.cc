// FileCache: LRU eviction within its capacity, shared ownership across an
// eviction, and logs that keep working when far more segments exist than
// the cache may hold open (descriptors and index mappings).
#include <dirent.h>
#include <sys/resource.h>

#include <filesystem>

#include "log_test_util.h"
#include "samsa/log/file_cache.h"
#include "samsa/log/log_manager.h"

namespace samsa::log {
namespace {

size_t open_fds() {
  size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

size_t mappings_of(const std::string& dir) {
  std::ifstream maps("/proc/self/maps");
  size_t n = 0;
  for (std::string line; std::getline(maps, line);)
    if (line.find(dir) != std::string::npos) ++n;
  return n;
}

// Restores the process-wide cache's capacity after a test shrank it.
struct CapacityGuard {
  size_t saved = FileCache::instance().capacity();
  ~CapacityGuard() { FileCache::instance().set_capacity(saved); }
};

TEST(FileCacheTest, EvictsLeastRecentlyUsedBeyondCapacity) {
  FileCache cache(64);  // 16 shards of 4
  std::vector<std::weak_ptr<int>> seen;
  // Ids 1, 17, 33, ... land in the same shard.
  for (uint64_t i = 0; i < 5; ++i) {
    auto v = std::make_shared<int>(static_cast<int>(i));
    seen.push_back(v);
    cache.insert(1 + i * 16, v);
    if (i == 3) {
      ASSERT_NE(cache.lookup(1), nullptr);  // 1 is now the most recent
    }
  }
  EXPECT_NE(cache.lookup(1), nullptr);
  EXPECT_EQ(cache.lookup(17), nullptr);  // least recently used: evicted and freed
  EXPECT_TRUE(seen[1].expired());
  EXPECT_NE(cache.lookup(33), nullptr);
  EXPECT_EQ(cache.size(), 4u);
  cache.erase(1);
  EXPECT_TRUE(seen[0].expired());
  EXPECT_EQ(cache.size(), 3u);
}

TEST(FileCacheTest, HolderKeepsEvictedValueAlive) {
  FileCache cache(64);
  auto held = std::make_shared<int>(7);
  cache.insert(1, held);
  std::weak_ptr<int> weak = held;
  auto from_cache = std::static_pointer_cast<int>(cache.lookup(1));
  held.reset();
  for (uint64_t i = 1; i <= 8; ++i) cache.insert(1 + i * 16, std::make_shared<int>(0));
  EXPECT_EQ(cache.lookup(1), nullptr);
  ASSERT_FALSE(weak.expired());
  EXPECT_EQ(*from_cache, 7);
  from_cache.reset();
  EXPECT_TRUE(weak.expired());
}

TEST(FileCacheTest, DefaultCapacityLeavesHeadroomBelowTheDescriptorLimit) {
  const size_t cap = FileCache::default_capacity();
  struct rlimit rl {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  EXPECT_LT(cap, rl.rlim_cur);
  EXPECT_GE(cap, 64u);
}

// 150 logs (450 segment files) under a 64-entry cache: descriptors and
// mappings stay bounded, every log appends and reads, a reader's handle
// survives the eviction of its file, and everything reloads.
TEST(FileCacheTest, ManyLogsUnderASmallCache) {
  CapacityGuard guard;
  FileCache::instance().set_capacity(64);
  test::TempDir tmp;
  auto clock = std::make_shared<ManualClock>();
  LogManagerConfig cfg;
  cfg.log_dirs = {tmp / "d"};
  cfg.num_recovery_threads_per_data_dir = 2;
  cfg.default_config = test::small_config();
  constexpr int kLogs = 150;
  const auto id = protocol::Uuid::random();
  const size_t fds_before = open_fds();
  FetchRange held;
  {
    LogManager m(cfg, clock);
    m.startup();
    std::vector<LogManager::NewLog> wanted;
    for (int p = 0; p < kLogs; ++p) wanted.push_back({"t", p, id, cfg.default_config});
    auto created = m.get_or_create_all(wanted);
    ASSERT_EQ(created.size(), static_cast<size_t>(kLogs));
    for (int p = 0; p < kLogs; ++p) {
      auto log = m.get_or_create("t", p, id, cfg.default_config);
      ASSERT_TRUE(log.ok());
      ASSERT_EQ(*log, created[p].value());
      auto b = test::make_batch(1 + p % 3, 1000 + p);
      ASSERT_TRUE((*log)->append_as_leader(b, 0).ok());
      (*log)->set_high_watermark((*log)->log_end_offset());
      if (p == 0) {
        auto r = (*log)->read(0, 1 << 20, true, (*log)->high_watermark());
        ASSERT_TRUE(r.ok());
        held = *r;
      }
    }
    EXPECT_LE(FileCache::instance().size(), 64u);
    EXPECT_LT(open_fds(), fds_before + 64 + 16);  // + the lock file, a few in flight
    EXPECT_LE(mappings_of(tmp.path()), 64u);
    // Partition 0's file was evicted long ago; the held handle still reads.
    auto bytes = test::read_range(held);
    ASSERT_EQ(test::headers_of(bytes).size(), 1u);
    EXPECT_EQ(test::headers_of(bytes)[0].max_timestamp, 1000);
    for (int p = 0; p < kLogs; p += 7) {
      auto log = m.get("t", p);
      auto r = log->read(0, 1 << 20, true, log->high_watermark());
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(test::headers_of(test::read_range(*r)).at(0).base_timestamp, 1000 + p);
    }
    m.shutdown();
  }
  held = {};
  LogManager again(cfg, clock);
  again.startup();
  ASSERT_EQ(again.partitions().size(), static_cast<size_t>(kLogs));
  for (int p = 0; p < kLogs; p += 11) {
    auto log = again.get("t", p);
    EXPECT_EQ(log->log_end_offset(), 1 + p % 3);
    auto r = log->read(0, 1 << 20, true, log->high_watermark());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(test::headers_of(test::read_range(*r)).at(0).base_timestamp, 1000 + p);
  }
  EXPECT_LE(mappings_of(tmp.path()), 64u);
  again.shutdown();
}

TEST(LogManagerLoadTest, StartupStopsNamingALogThatCannotBeLoaded) {
  test::TempDir tmp;
  LogManagerConfig cfg;
  cfg.log_dirs = {tmp / "d"};
  cfg.default_config = test::small_config();
  {
    LogManager m(cfg);
    m.startup();
    ASSERT_TRUE(m.get_or_create("good", 0, protocol::Uuid::random(), cfg.default_config).ok());
    ASSERT_TRUE(m.get_or_create("bad", 0, protocol::Uuid::random(), cfg.default_config).ok());
    m.shutdown();
  }
  // A segment that cannot be opened (a directory where the .log should be).
  const std::string seg = tmp / "d/bad-0/00000000000000000000.log";
  std::filesystem::remove(seg);
  std::filesystem::create_directory(seg);
  LogManager again(cfg);
  try {
    again.startup();
    FAIL() << "start-up went on without bad-0";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad-0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("00000000000000000000.log"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace samsa::log
