// Leader epoch cache rules and its checkpoint file as the log maintains it.
#include "log_test_util.h"
#include "samsa/log/leader_epoch_cache.h"

namespace samsa::log {
namespace {

TEST(LeaderEpochCacheTest, AssignTruncateAndLookup) {
  test::TempDir tmp;
  const std::string path = tmp / "leader-epoch-checkpoint";
  LeaderEpochCache cache(path);
  EXPECT_FALSE(cache.latest_epoch());
  cache.assign(0, 0);
  cache.assign(0, 5);  // same epoch later: nothing new
  cache.assign(2, 10);
  cache.assign(5, 30);
  EXPECT_EQ(test::read_all(path), "0\n3\n0 0\n2 10\n5 30\n");
  EXPECT_EQ(cache.end_offset_for(2, 50), (std::pair<int32_t, int64_t>{2, 30}));
  EXPECT_EQ(cache.end_offset_for(3, 50), (std::pair<int32_t, int64_t>{2, 30}));
  EXPECT_EQ(cache.end_offset_for(5, 50), (std::pair<int32_t, int64_t>{5, 50}));
  EXPECT_EQ(cache.end_offset_for(6, 50), (std::pair<int32_t, int64_t>{-1, -1}));
  // A new epoch starting below existing entries replaces them.
  cache.assign(6, 20);
  EXPECT_EQ(cache.entries(), (std::vector<EpochEntry>{{0, 0}, {2, 10}, {6, 20}}));
  cache.truncate_from_end(15);
  EXPECT_EQ(cache.entries(), (std::vector<EpochEntry>{{0, 0}, {2, 10}}));
  cache.truncate_from_start(12);
  EXPECT_EQ(cache.entries(), (std::vector<EpochEntry>{{2, 12}}));
  EXPECT_EQ(test::read_all(path), "0\n1\n2 12\n");
  LeaderEpochCache reloaded(path);
  EXPECT_EQ(reloaded.entries(), cache.entries());
}

struct LogEpochTest : test::LogFixture {};

TEST_F(LogEpochTest, AppendsRecordEpochsAndRecoveryRebuildsThem) {
  auto log = open_log();
  append(*log, 2, 10, /*epoch=*/1);
  append(*log, 2, 10, 1);
  append(*log, 3, 10, 4);
  EXPECT_EQ(test::read_all(log_dir() + "/leader-epoch-checkpoint"), "0\n2\n1 0\n4 4\n");
  ASSERT_TRUE(log->truncate_to(4).ok());
  EXPECT_EQ(test::read_all(log_dir() + "/leader-epoch-checkpoint"), "0\n1\n1 0\n");
  append(*log, 1, 10, 7);
  log.reset();  // crash
  std::filesystem::remove(log_dir() + "/leader-epoch-checkpoint");
  auto again = open_log(false);
  EXPECT_EQ(again->leader_epoch_cache().entries(), (std::vector<EpochEntry>{{1, 0}, {7, 4}}));
}

}  // namespace
}  // namespace samsa::log
