// LogManager: create/get/remove, reload after clean and unclean stops,
// checkpoint files, markers, retention over all logs.
#include <filesystem>

#include "log_test_util.h"
#include "samsa/log/log_manager.h"

namespace samsa::log {
namespace {

namespace fs = std::filesystem;

struct LogManagerTest : ::testing::Test {
  test::TempDir tmp;
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  LogManagerConfig cfg;

  void SetUp() override {
    cfg.log_dirs = {tmp / "d1", tmp / "d2"};
    cfg.num_recovery_threads_per_data_dir = 2;
    cfg.default_config = test::small_config();
  }
  std::unique_ptr<LogManager> start() {
    auto m = std::make_unique<LogManager>(cfg, clock);
    m->startup();
    return m;
  }
  void produce(Log& log, int batches) {
    for (int i = 0; i < batches; ++i) {
      auto b = test::make_batch(1, clock->now_ms(), 100);
      ASSERT_TRUE(log.append_as_leader(b, 0).ok());
    }
    log.set_high_watermark(log.log_end_offset());
  }
};

TEST_F(LogManagerTest, CreateSpreadsAcrossDirsAndReloads) {
  auto id = protocol::Uuid::random();
  {
    auto m = start();
    for (int p = 0; p < 4; ++p) {
      auto log = m->get_or_create("orders", p, id, cfg.default_config);
      ASSERT_TRUE(log.ok());
      produce(**log, 5 + p);
    }
    EXPECT_EQ(m->get_or_create("orders", 0, id, cfg.default_config).value(), m->get("orders", 0));
    EXPECT_EQ(m->get_or_create("orders", 0, protocol::Uuid::random(), cfg.default_config)
                  .error().code,
              LogErrc::kInconsistentTopicId);
    EXPECT_EQ(m->get("orders", 9), nullptr);
    m->shutdown();
  }
  for (const auto& d : cfg.log_dirs) {
    EXPECT_TRUE(fs::exists(d + "/.kafka_cleanshutdown"));
    EXPECT_EQ(fs::exists(d + "/orders-0") + fs::exists(d + "/orders-1") +
                  fs::exists(d + "/orders-2") + fs::exists(d + "/orders-3"),
              2);
  }
  auto m = start();
  for (const auto& d : cfg.log_dirs) EXPECT_FALSE(fs::exists(d + "/.kafka_cleanshutdown"));
  ASSERT_EQ(m->partitions().size(), 4u);
  for (int p = 0; p < 4; ++p) {
    auto log = m->get("orders", p);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->log_end_offset(), 5 + p);
    EXPECT_EQ(log->topic_id(), id);
  }
}

TEST_F(LogManagerTest, CheckpointFilesWrittenInKafkaFormat) {
  auto m = start();
  cfg.log_dirs.resize(1);
  auto m1 = std::make_unique<LogManager>(LogManagerConfig{{tmp / "single"}, 1, cfg.default_config, {}, {}, {}}, clock);
  m1->startup();
  auto log = m1->get_or_create("t", 3, protocol::Uuid::random(), cfg.default_config).value();
  produce(*log, 40);
  ASSERT_TRUE(m1->delete_records("t", 3, 25).ok());
  log->flush();
  m1->checkpoint();
  EXPECT_EQ(test::read_all(tmp / "single/recovery-point-offset-checkpoint"), "0\n1\nt 3 40\n");
  EXPECT_EQ(test::read_all(tmp / "single/log-start-offset-checkpoint"), "0\n1\nt 3 25\n");
  m1->shutdown();
  auto again = std::make_unique<LogManager>(LogManagerConfig{{tmp / "single"}, 1, cfg.default_config, {}, {}, {}}, clock);
  again->startup();
  EXPECT_EQ(again->get("t", 3)->log_start_offset(), 25);
}

TEST_F(LogManagerTest, UncleanStartRecoversEveryLog) {
  std::string torn_dir;
  {
    auto m = start();
    for (int p = 0; p < 3; ++p) produce(*m->get_or_create("x", p, {}, cfg.default_config).value(), 7);
    torn_dir = m->get("x", 1)->dir();
    m->shutdown();
  }
  // As if the broker had died: no markers, and a torn write at the end.
  for (const auto& d : cfg.log_dirs) fs::remove(d + "/.kafka_cleanshutdown");
  const std::string seg = torn_dir + "/00000000000000000000.log";
  const auto valid = fs::file_size(seg);
  test::append_bytes_to_file(seg, std::vector<uint8_t>(17, 9));
  auto m = start();
  for (int p = 0; p < 3; ++p) EXPECT_EQ(m->get("x", p)->log_end_offset(), 7);
  EXPECT_EQ(fs::file_size(seg), valid);
}

TEST_F(LogManagerTest, RemoveRenamesThenDeletesDir) {
  auto m = start();
  auto log = m->get_or_create("gone", 0, {}, cfg.default_config).value();
  produce(*log, 3);
  auto range = log->read(0, 1 << 20, false, 3).value();
  const std::string dir = log->dir();
  EXPECT_TRUE(m->remove("gone", 0));
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_EQ(m->get("gone", 0), nullptr);
  EXPECT_EQ(test::headers_of(test::read_range(range)).size(), 3u);  // reader unaffected
  auto b = test::make_batch(1, clock->now_ms());
  EXPECT_EQ(log->append_as_leader(b, 0).error().code, LogErrc::kLogClosed);
  EXPECT_FALSE(m->remove("gone", 0));
  // A leftover "-delete" dir from a crash is removed at start.
  m->shutdown();
  fs::create_directories(tmp / "d1/old-0.0123456789abcdef0123456789abcdef-delete");
  auto m2 = start();
  EXPECT_FALSE(fs::exists(tmp / "d1/old-0.0123456789abcdef0123456789abcdef-delete"));
}

TEST_F(LogManagerTest, RetentionCheckOverAllLogs) {
  cfg.default_config.retention_ms = 10'000;
  auto m = start();
  for (int p = 0; p < 2; ++p) produce(*m->get_or_create("r", p, {}, cfg.default_config).value(), 80);
  clock->advance(20'000);
  EXPECT_GT(m->retention_check(), 0u);
  for (int p = 0; p < 2; ++p) EXPECT_EQ(m->get("r", p)->log_start_offset(), 80);
  m->flush_check();
}

TEST_F(LogManagerTest, SecondManagerCannotLockDirs) {
  auto m = start();
  LogManager other(cfg, clock);
  EXPECT_THROW(other.startup(), std::system_error);
}

}  // namespace
}  // namespace samsa::log
