// A Log over the FaultInjectionEnv: fsync failures, short writes, ENOSPC and
// a crash at every file operation of appends, rolls and close. After each:
// nothing acknowledged is lost, nothing unacknowledged is half-visible, no
// batch with a bad CRC is served, and the log takes appends again.
#include <filesystem>

#include "log_test_util.h"
#include "samsa/util/fault_injection_env.h"

namespace samsa::log {
namespace {

using test::LogFixture;

struct LogFaultTest : LogFixture {
  util::FaultInjectionEnv env;
  int io_errors = 0;

  LogFaultTest() {
    env.set_forward_syncs(false);
    util::Env::mount(tmp.path(), &env);
  }
  ~LogFaultTest() override { util::Env::unmount(tmp.path()); }

  std::shared_ptr<Log> open_faulty(bool clean) {
    LogOpenOptions o;
    o.dir = log_dir();
    o.tp = {"topic", 0};
    o.config = config;
    o.clock = clock;
    o.clean_shutdown = clean;
    o.on_io_error = [this](const std::string&) { ++io_errors; };
    auto r = Log::open(o);
    return r.ok() ? r.value() : nullptr;
  }

  // Appends a batch; on success returns its bytes as written (offsets assigned).
  std::optional<std::vector<uint8_t>> try_append(Log& log, size_t value_size = 200) {
    auto batch = test::make_batch(3, clock->now_ms(), value_size);
    auto r = log.append_as_leader(batch, 0);
    if (!r) {
      EXPECT_EQ(r.error().code, LogErrc::kStorageError) << r.error().message;
      return std::nullopt;
    }
    return batch;
  }

  // The whole log, batch by batch, CRC-checked.
  std::vector<std::vector<uint8_t>> served_batches(Log& log) {
    std::vector<std::vector<uint8_t>> out;
    int64_t off = log.log_start_offset();
    while (off < log.log_end_offset()) {
      auto r = log.read(off, 1 << 20, true, log.log_end_offset());
      EXPECT_TRUE(r.ok());
      if (!r.ok()) break;
      auto bytes = test::read_range(*r);
      auto split = protocol::split_batches(bytes, /*require_complete=*/true);
      EXPECT_FALSE(split.batches.empty());
      if (split.batches.empty()) break;
      for (const auto& b : split.batches) {
        EXPECT_TRUE(protocol::verify_crc(b.bytes)) << "bad CRC served at offset " << b.header.base_offset;
        out.emplace_back(b.bytes.begin(), b.bytes.end());
        off = b.header.next_offset();
      }
    }
    EXPECT_EQ(off, log.log_end_offset());
    return out;
  }

  // Everything acknowledged is there, in order, byte for byte; anything
  // after it is whole batches (an append that was written but not answered).
  void expect_acknowledged(Log& log, const std::vector<std::vector<uint8_t>>& acked, const std::string& what) {
    auto served = served_batches(log);
    ASSERT_GE(served.size(), acked.size()) << what;
    for (size_t i = 0; i < acked.size(); ++i) EXPECT_EQ(served[i], acked[i]) << what << ": batch " << i;
  }

  void power_loss() {
    env.crash_after(env.op_count());
    env.drop_unsynced_data();
    env.reset();
  }
};

TEST_F(LogFaultTest, FsyncFailureIsNeverAcknowledgedAndTakesTheLogOffline) {
  config.flush_messages = 1;
  auto log = open_faulty(true);
  ASSERT_TRUE(log);
  std::vector<std::vector<uint8_t>> acked;
  for (int i = 0; i < 3; ++i) acked.push_back(*try_append(*log));

  env.fail_syncs_from(env.op_count() + 1);
  EXPECT_FALSE(try_append(*log));
  EXPECT_EQ(io_errors, 1);
  EXPECT_TRUE(log->offline());
  // The disk answers again, but the page cache may have lost the pages the
  // failed fsync covered: nothing more is appended, acknowledged or served.
  env.reset();
  EXPECT_FALSE(try_append(*log));
  auto read = log->read(0, 1 << 20, true, log->log_end_offset());
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, LogErrc::kStorageError);
  EXPECT_EQ(io_errors, 1);
  log->close();
  log.reset();

  power_loss();
  auto again = open_faulty(false);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->log_end_offset(), 9);  // the unacknowledged batch was never synced
  expect_acknowledged(*again, acked, "after restart");
  EXPECT_TRUE(try_append(*again));
}

// Durable mode with a flusher: the append only requests the flush; the
// flush job's failed fsync takes the log offline, moves no recovery point and
// tells the listener (the produce waiters answer KAFKA_STORAGE_ERROR).
TEST_F(LogFaultTest, BackgroundFsyncFailureTakesTheLogOfflineAndWakesTheWaiters) {
  config.flush_messages = 1;
  std::vector<std::function<void()>> jobs;
  LogOpenOptions o;
  o.dir = log_dir();
  o.tp = {"topic", 0};
  o.config = config;
  o.clock = clock;
  o.on_io_error = [this](const std::string&) { ++io_errors; };
  o.flusher = [&jobs](std::function<void()> job) { jobs.push_back(std::move(job)); };
  auto log = Log::open(o).value();
  int notified = 0;
  log->set_durable_listener([&] { ++notified; });

  auto batch = test::make_batch(3, clock->now_ms(), 200);
  auto r = log->append_as_leader(batch, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->awaits_flush);
  env.fail_syncs_from(env.op_count() + 1);
  ASSERT_EQ(jobs.size(), 1u);
  jobs[0]();
  EXPECT_TRUE(log->offline());
  EXPECT_EQ(io_errors, 1);
  EXPECT_EQ(notified, 1);
  EXPECT_EQ(log->durable_offset(), 0);  // never acknowledged as durable
  env.reset();
  EXPECT_FALSE(try_append(*log));
}

TEST_F(LogFaultTest, ShortWriteFailsTheAppendAndRecoveryCutsTheTornBatch) {
  auto log = open_faulty(true);
  ASSERT_TRUE(log);
  std::vector<std::vector<uint8_t>> acked;
  for (int i = 0; i < 3; ++i) acked.push_back(*try_append(*log));
  env.short_write_at(env.op_count() + 1);
  EXPECT_FALSE(try_append(*log));
  EXPECT_EQ(io_errors, 1);
  EXPECT_FALSE(try_append(*log));  // offline
  log.reset();  // the process stops without a clean shutdown

  const auto seg = segment_path(0, kLogSuffix);
  const auto torn_size = std::filesystem::file_size(seg);
  auto again = open_faulty(false);
  ASSERT_TRUE(again);
  EXPECT_LT(std::filesystem::file_size(seg), torn_size);  // half a batch cut
  EXPECT_EQ(again->log_end_offset(), 9);
  expect_acknowledged(*again, acked, "after restart");
  EXPECT_EQ(served_batches(*again).size(), acked.size());
  auto more = try_append(*again);
  ASSERT_TRUE(more);
  acked.push_back(*more);
  expect_acknowledged(*again, acked, "after a new append");
}

TEST_F(LogFaultTest, NoSpaceFailsTheAppendAndLosesNothingAcknowledged) {
  auto log = open_faulty(true);
  ASSERT_TRUE(log);
  env.set_space_limit(10'000);  // a few segments' worth (4 KiB each)
  std::vector<std::vector<uint8_t>> acked;
  bool full = false;
  for (int i = 0; i < 1000 && !full; ++i) {
    if (auto b = try_append(*log)) acked.push_back(*b);
    else full = true;
  }
  ASSERT_TRUE(full);
  EXPECT_GT(acked.size(), 5u);
  EXPECT_EQ(io_errors, 1);
  EXPECT_FALSE(try_append(*log));
  log.reset();

  env.reset();  // space again
  auto again = open_faulty(false);
  ASSERT_TRUE(again);
  expect_acknowledged(*again, acked, "after restart");
  EXPECT_EQ(served_batches(*again).size(), acked.size());
  EXPECT_TRUE(try_append(*again));
}

TEST_F(LogFaultTest, HighWatermarkOnlyAdvancesToAnAcknowledgedEnd) {
  auto log = open_faulty(true);
  ASSERT_TRUE(log);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(try_append(*log));  // offsets 0..8
  log->advance_high_watermark(6);
  EXPECT_EQ(log->high_watermark(), 6);
  log->advance_high_watermark(3);  // an earlier append answered late
  EXPECT_EQ(log->high_watermark(), 6);
  log->advance_high_watermark(100);
  EXPECT_EQ(log->high_watermark(), 9);
}

// Enumerates op points: the scenario runs once to count its file operations,
// then once per operation k, crashing right after it.
TEST_F(LogFaultTest, CrashAtEveryOperationOfAppendRollAndClose) {
  config.flush_messages = 1;  // acknowledged = durable (flushed inline: no flusher)
  auto scenario = [&](std::vector<std::vector<uint8_t>>& acked) {
    auto log = open_faulty(false);
    if (!log) return;
    for (int i = 0; i < 12; ++i) {  // ~700 bytes a batch: rolls every 5 or so
      auto b = try_append(*log);
      if (!b) return;
      acked.push_back(*b);
    }
    try {
      log->roll();
      log->close();
    } catch (const std::exception&) {
    }
  };
  auto reset_dir = [&] {
    std::filesystem::remove_all(log_dir());
    env.forget_unsynced();
  };

  std::vector<std::vector<uint8_t>> all;
  const uint64_t start = env.op_count();
  scenario(all);
  const uint64_t ops = env.op_count() - start;
  ASSERT_EQ(all.size(), 12u);
  ASSERT_GT(ops, 30u);

  for (uint64_t k = 0; k <= ops; ++k) {
    reset_dir();
    io_errors = 0;
    std::vector<std::vector<uint8_t>> acked;
    env.crash_after(env.op_count() + k);
    scenario(acked);
    env.drop_unsynced_data();
    env.reset();
    const std::string what = "crash after op " + std::to_string(k) + " of " + std::to_string(ops);
    auto log = open_faulty(false);
    ASSERT_TRUE(log) << what;
    expect_acknowledged(*log, acked, what);
    auto more = try_append(*log);
    ASSERT_TRUE(more) << what;
    if (HasFailure()) {
      ADD_FAILURE() << what;
      return;
    }
  }
}

}  // namespace
}  // namespace samsa::log
