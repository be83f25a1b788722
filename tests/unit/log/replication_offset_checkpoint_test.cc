// replication-offset-checkpoint: LogManager writes every log's high
// watermark in Kafka's offset checkpoint format (at a clean stop and when
// asked) and loads it back, so a restarted replica never starts with its
// log end as high watermark (records no ISR had would be visible).
#include <filesystem>

#include "log_test_util.h"
#include "samsa/log/checkpoint_file.h"
#include "samsa/log/log_manager.h"

namespace samsa::log {
namespace {

namespace fs = std::filesystem;

struct ReplicationOffsetCheckpointTest : ::testing::Test {
  test::TempDir tmp;
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  LogManagerConfig cfg;

  void SetUp() override {
    cfg.log_dirs = {tmp / "d"};
    cfg.num_recovery_threads_per_data_dir = 1;
    cfg.default_config = test::small_config();
  }
  std::unique_ptr<LogManager> start() {
    auto m = std::make_unique<LogManager>(cfg, clock);
    m->startup();
    return m;
  }
  void append(Log& log, int batches) {
    for (int i = 0; i < batches; ++i) {
      auto b = test::make_batch(1, clock->now_ms(), 100);
      ASSERT_TRUE(log.append_as_leader(b, 0).ok());
    }
  }
};

TEST_F(ReplicationOffsetCheckpointTest, WrittenInKafkaFormatAndLoadedBack) {
  {
    auto m = start();
    auto log = m->get_or_create("t", 2, protocol::Uuid::random(), cfg.default_config).value();
    append(*log, 10);
    log->set_high_watermark(6);  // offsets 6-9 not replicated yet
    m->checkpoint_high_watermarks();
    EXPECT_EQ(test::read_all(tmp / "d/replication-offset-checkpoint"), "0\n1\nt 2 6\n");
    log->set_high_watermark(8);
    m->shutdown();  // a clean stop writes the exact value
  }
  EXPECT_EQ(test::read_all(tmp / "d/replication-offset-checkpoint"), "0\n1\nt 2 8\n");
  auto m = start();
  EXPECT_EQ(m->get("t", 2)->log_end_offset(), 10);
  EXPECT_EQ(m->get("t", 2)->high_watermark(), 8);
}

TEST_F(ReplicationOffsetCheckpointTest, MissingEntryStartsAtTheLogStartNotTheLogEnd) {
  {
    auto m = start();
    append(*m->get_or_create("t", 0, protocol::Uuid::random(), cfg.default_config).value(), 5);
    m->shutdown();
  }
  fs::remove(tmp / (std::string("d/") + kReplicationOffsetCheckpointFile));
  fs::remove(tmp / "d/.kafka_cleanshutdown");  // as after a crash
  auto m = start();
  EXPECT_EQ(m->get("t", 0)->log_end_offset(), 5);
  EXPECT_EQ(m->get("t", 0)->high_watermark(), 0);
}

TEST_F(ReplicationOffsetCheckpointTest, CheckpointAboveTheLogEndIsClamped) {
  {
    auto m = start();
    append(*m->get_or_create("t", 0, protocol::Uuid::random(), cfg.default_config).value(), 5);
    m->shutdown();
  }
  write_offset_checkpoint(tmp / (std::string("d/") + kReplicationOffsetCheckpointFile), OffsetCheckpoint{{TopicPartition{"t", 0}, 50}});
  auto m = start();
  EXPECT_EQ(m->get("t", 0)->high_watermark(), 5);
}

}  // namespace
}  // namespace samsa::log
