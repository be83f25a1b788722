// The metadata log over the FaultInjectionEnv: a crash at every file
// operation of open (leader change, quorum-state), commits, a snapshot and
// close. A commit that returned is never lost; one that threw is either
// whole or absent; the log reopens. An fsync failure is reported and stops
// further commits.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "samsa/raft/metadata_log.h"
#include "samsa/util/fault_injection_env.h"

namespace samsa::raft {
namespace {

namespace fs = std::filesystem;

class MetadataLogFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("samsa-mlog-fault-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    env.set_forward_syncs(false);
    util::Env::mount(dir.string(), &env);
    options.metadata_dir = dir.string();
    options.node_id = 1;
    options.voters = {1};
    options.config.segment_bytes = 1024;  // commits roll segments too
    options.on_io_error = [this](const std::string&) { ++io_errors; };
  }
  void TearDown() override {
    util::Env::unmount(dir.string());
    fs::remove_all(dir);
  }

  static std::vector<std::vector<uint8_t>> commit_values(int commit) {
    std::vector<std::vector<uint8_t>> v;
    for (int i = 0; i < 3; ++i) v.push_back(std::vector<uint8_t>(60, static_cast<uint8_t>(commit * 3 + i)));
    return v;
  }
  static std::vector<std::vector<uint8_t>> data_values(const MetadataLog& log) {
    std::vector<std::vector<uint8_t>> out;
    log.replay([&](const protocol::BatchView& batch) {
      EXPECT_TRUE(protocol::verify_crc(batch.bytes));
      if (batch.header.is_control()) return;
      for (auto& r : protocol::decode_records(batch)) out.push_back(*r.value);
    });
    return out;
  }

  fs::path dir;
  util::FaultInjectionEnv env;
  MetadataLogOptions options;
  int io_errors = 0;
};

TEST_F(MetadataLogFaultTest, FsyncFailureFailsTheCommitAndEveryLaterOne) {
  auto log = MetadataLog::open(options);
  log->append(commit_values(0));
  env.fail_syncs_from(env.op_count() + 1);
  EXPECT_THROW(log->append(commit_values(1)), std::runtime_error);
  EXPECT_EQ(io_errors, 1);
  env.reset();
  EXPECT_THROW(log->append(commit_values(2)), std::runtime_error);
  log->close();
  log.reset();
  env.crash_after(env.op_count());
  env.drop_unsynced_data();
  env.reset();
  auto again = MetadataLog::open(options);
  EXPECT_EQ(data_values(*again), commit_values(0));
}

TEST_F(MetadataLogFaultTest, CrashAtEveryOperationOfCommits) {
  auto scenario = [&](std::vector<std::vector<uint8_t>>& committed, std::vector<uint8_t>& attempted) {
    try {
      auto log = MetadataLog::open(options);
      for (int c = 0; c < 8; ++c) {
        attempted.push_back(static_cast<uint8_t>(c));
        log->append(commit_values(c));
        for (auto& v : commit_values(c)) committed.push_back(v);
        if (c == 4) log->write_snapshot({log->end_offset(), log->epoch()}, committed);
      }
      log->close();
    } catch (const std::exception&) {
      // the node died
    }
  };
  std::vector<std::vector<uint8_t>> all;
  std::vector<uint8_t> attempted;
  const uint64_t start = env.op_count();
  scenario(all, attempted);
  const uint64_t ops = env.op_count() - start;
  ASSERT_EQ(all.size(), 24u);
  ASSERT_GT(ops, 20u);
  for (uint64_t k = 0; k <= ops; ++k) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    env.forget_unsynced();
    std::vector<std::vector<uint8_t>> committed;
    attempted.clear();
    env.crash_after(env.op_count() + k);
    scenario(committed, attempted);
    env.drop_unsynced_data();
    env.reset();
    const std::string what = "crash after op " + std::to_string(k) + " of " + std::to_string(ops);
    std::unique_ptr<MetadataLog> log;
    ASSERT_NO_THROW(log = MetadataLog::open(options)) << what;
    auto got = data_values(*log);
    // Every returned commit, then at most the one that was in flight, whole.
    ASSERT_GE(got.size(), committed.size()) << what;
    EXPECT_TRUE(std::equal(committed.begin(), committed.end(), got.begin())) << what;
    if (got.size() > committed.size()) {
      const int in_flight = attempted.empty() ? -1 : attempted.back();
      std::vector<std::vector<uint8_t>> expected = committed;
      for (auto& v : commit_values(in_flight)) expected.push_back(v);
      EXPECT_EQ(got, expected) << what;
    }
    EXPECT_NO_THROW(log->append(commit_values(99))) << what;
    log->close();
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace samsa::raft
