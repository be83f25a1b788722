// LogManager over the FaultInjectionEnv: a failed dir takes its partitions
// offline (and all dirs offline is reported), stray logs are kept under a
// "-stray" name, and a crash at every file operation of appends and
// checkpoints loses nothing acknowledged and never leaves a torn checkpoint.
#include <filesystem>
#include <regex>

#include "log_test_util.h"
#include "samsa/log/checkpoint_file.h"
#include "samsa/log/log_manager.h"
#include "samsa/util/fault_injection_env.h"

namespace samsa::log {
namespace {

namespace fs = std::filesystem;

struct LogManagerFaultTest : ::testing::Test {
  test::TempDir tmp;
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  util::FaultInjectionEnv env;
  LogManagerConfig cfg;
  std::vector<std::string> all_offline;
  std::vector<std::string> offline_reports;  // dirs, in order

  void SetUp() override {
    env.set_forward_syncs(false);
    util::Env::mount(tmp.path(), &env);
    cfg.log_dirs = {tmp / "d1", tmp / "d2"};
    cfg.default_config = test::small_config();
    cfg.cleaner.enable = false;
    cfg.on_dir_offline = [this](const std::string& dir, const std::string& why, bool all) {
      offline_reports.push_back(dir);
      if (all) all_offline.push_back(why);
    };
  }
  void TearDown() override { util::Env::unmount(tmp.path()); }

  std::unique_ptr<LogManager> start() {
    auto m = std::make_unique<LogManager>(cfg, clock);
    m->startup();
    return m;
  }
  static LogResult<AppendInfo> produce(Log& log, std::vector<uint8_t>* out = nullptr) {
    auto b = test::make_batch(2, 1000, 150);
    auto r = log.append_as_leader(b, 0);
    if (r && out) *out = b;
    return r;
  }
};

TEST_F(LogManagerFaultTest, FailedDirTakesItsPartitionsOfflineAndTheOtherDirServes) {
  auto m = start();
  std::vector<std::shared_ptr<Log>> logs;
  for (int p = 0; p < 4; ++p) logs.push_back(*m->get_or_create("t", p, protocol::Uuid::random(), cfg.default_config));
  std::shared_ptr<Log> in_d1, in_d2;
  for (auto& l : logs) (l->dir().starts_with(tmp / "d1") ? in_d1 : in_d2) = l;
  ASSERT_TRUE(in_d1 && in_d2);
  ASSERT_TRUE(produce(*in_d1).ok());

  env.short_write_at(env.op_count() + 1);  // the next write: this append's
  auto failed = produce(*in_d1);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, LogErrc::kStorageError);
  env.reset();
  EXPECT_FALSE(m->dir_online(0));
  EXPECT_TRUE(m->dir_online(1));
  EXPECT_EQ(m->offline_dirs(), std::vector<std::string>{tmp / "d1"});
  for (auto& l : logs) {
    const bool d1 = l->dir().starts_with(tmp / "d1");
    EXPECT_EQ(l->offline(), d1) << l->dir();
    auto r = produce(*l);
    EXPECT_EQ(r.ok(), !d1) << l->dir();
    if (d1) {
      EXPECT_EQ(r.error().code, LogErrc::kStorageError);
      EXPECT_EQ(l->read(0, 100, true, 10).error().code, LogErrc::kStorageError);
    }
  }
  EXPECT_TRUE(all_offline.empty());
  // New logs avoid the failed dir.
  auto fresh = m->get_or_create("u", 0, protocol::Uuid::random(), cfg.default_config);
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE((*fresh)->dir().starts_with(tmp / "d2"));

  // Nothing more is written to the failed dir, not even at shutdown: its
  // logs must be recovered next time.
  m->mark_dir_offline(1, "second dir fails too");
  ASSERT_EQ(all_offline.size(), 1u);
  EXPECT_FALSE(m->get_or_create("v", 0, protocol::Uuid::random(), cfg.default_config).ok());
  m->mark_dir_offline(1, "reported twice");
  EXPECT_EQ(all_offline.size(), 1u);
  EXPECT_EQ(offline_reports, (std::vector<std::string>{tmp / "d1", tmp / "d2"}));
  m->shutdown();
  EXPECT_FALSE(fs::exists(tmp / "d1/.kafka_cleanshutdown"));
  EXPECT_FALSE(fs::exists(tmp / "d2/.kafka_cleanshutdown"));
}

TEST_F(LogManagerFaultTest, OneDirFailingIsReportedAsAllOffline) {
  cfg.log_dirs = {tmp / "only"};
  auto m = start();
  auto log = *m->get_or_create("t", 0, protocol::Uuid::random(), cfg.default_config);
  env.set_space_limit(0);
  EXPECT_EQ(produce(*log).error().code, LogErrc::kStorageError);
  EXPECT_EQ(all_offline.size(), 1u);
  env.reset();
}

TEST_F(LogManagerFaultTest, FailingToCreateALogTakesTheDirOffline) {
  cfg.log_dirs = {tmp / "only"};
  auto m = start();
  env.set_space_limit(0);
  auto created = m->get_or_create("t", 0, protocol::Uuid::random(), cfg.default_config);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code, LogErrc::kStorageError);
  EXPECT_FALSE(m->dir_online(0));
  EXPECT_EQ(all_offline.size(), 1u);
  env.reset();
}

TEST_F(LogManagerFaultTest, StrayLogIsRenamedNotDeleted) {
  {
    auto m = start();
    auto log = *m->get_or_create("orders", 3, protocol::Uuid::random(), cfg.default_config);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(produce(*log).ok());
    const std::string dir = log->dir();
    const std::string parent = fs::path(dir).parent_path().string();
    ASSERT_TRUE(m->rename_stray("orders", 3));
    EXPECT_FALSE(m->get("orders", 3));
    EXPECT_FALSE(fs::exists(dir));
    EXPECT_FALSE(m->rename_stray("orders", 3));
    const std::regex stray_name("orders-3\\.[0-9a-f]{32}-stray");
    int found = 0;
    for (const auto& e : fs::directory_iterator(parent)) {
      if (!std::regex_match(e.path().filename().string(), stray_name)) continue;
      ++found;
      EXPECT_GT(fs::file_size(e.path() / (offset_file_stem(0) + kLogSuffix)), 5u * 300);
    }
    EXPECT_EQ(found, 1);
  }
  // Not loaded again, and still not deleted.
  auto m = start();
  EXPECT_TRUE(m->partitions().empty());
  int kept = 0;
  for (const auto& d : cfg.log_dirs)
    for (const auto& e : fs::directory_iterator(d)) kept += e.path().filename().string().ends_with("-stray");
  EXPECT_EQ(kept, 1);
}

TEST_F(LogManagerFaultTest, CrashAtEveryOperationOfAppendsAndCheckpoints) {
  cfg.log_dirs = {tmp / "data"};
  cfg.default_config.flush_messages = 1;
  auto scenario = [&](std::vector<std::vector<uint8_t>>& acked) {
    try {
      auto m = start();
      auto created = m->get_or_create("t", 0, protocol::Uuid::random(), cfg.default_config);
      if (!created) return;
      for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 4; ++i) {
          std::vector<uint8_t> bytes;
          if (!produce(**created, &bytes).ok()) return;
          acked.push_back(bytes);
        }
        (*created)->flush();
        m->checkpoint();
      }
      m->shutdown();
    } catch (const std::exception&) {
      // the "process" died
    }
  };
  auto check = [&](const std::vector<std::vector<uint8_t>>& acked, const std::string& what) {
    for (const char* name : {kRecoveryPointCheckpointFile, kLogStartOffsetCheckpointFile}) {
      const std::string path = tmp / "data" + "/" + name;
      if (fs::exists(path)) {
        EXPECT_TRUE(read_offset_checkpoint(path).has_value()) << what << ": torn " << name;
      }
    }
    auto m = start();
    auto log = m->get("t", 0);
    if (acked.empty() && !log) return;
    ASSERT_TRUE(log) << what;
    std::vector<uint8_t> served;
    int64_t off = 0;
    while (off < log->log_end_offset()) {
      auto r = log->read(off, 1 << 20, true, log->log_end_offset());
      ASSERT_TRUE(r.ok()) << what;
      auto bytes = test::read_range(*r);
      auto split = protocol::split_batches(bytes, true);
      ASSERT_FALSE(split.batches.empty()) << what;
      for (const auto& b : split.batches) {
        EXPECT_TRUE(protocol::verify_crc(b.bytes)) << what;
        served.insert(served.end(), b.bytes.begin(), b.bytes.end());
        off = b.header.next_offset();
      }
    }
    auto expected = test::concat(acked);
    ASSERT_GE(served.size(), expected.size()) << what;
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), served.begin())) << what;
    EXPECT_TRUE(produce(*log).ok()) << what;
  };

  std::vector<std::vector<uint8_t>> all;
  const uint64_t start_ops = env.op_count();
  scenario(all);
  const uint64_t ops = env.op_count() - start_ops;
  ASSERT_EQ(all.size(), 12u);
  ASSERT_GT(ops, 30u);
  for (uint64_t k = 0; k <= ops; ++k) {
    fs::remove_all(tmp / "data");
    env.forget_unsynced();
    std::vector<std::vector<uint8_t>> acked;
    env.crash_after(env.op_count() + k);
    scenario(acked);
    env.drop_unsynced_data();
    env.reset();
    check(acked, "crash after op " + std::to_string(k) + " of " + std::to_string(ops));
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace samsa::log
