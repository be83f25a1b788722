// Staged appends (Log::append_as_leader with an owner, Log::write_staged):
// offsets are assigned at once, the bytes become readable only when written,
// and every other write to the log writes them first.
#include "log_test_util.h"
#include "samsa/util/fault_injection_env.h"

namespace samsa::log {
namespace {

using test::LogFixture;

struct LogStagingTest : LogFixture {
  // Batches stay alive here, as a request frame does until written.
  std::vector<std::shared_ptr<std::vector<uint8_t>>> frames;

  LogResult<AppendInfo> stage(Log& log, int records = 3, size_t value_size = 100) {
    auto frame = std::make_shared<std::vector<uint8_t>>(test::make_batch(records, clock->now_ms(), value_size));
    frames.push_back(frame);
    return log.append_as_leader(*frame, 0, AppendOrigin::kClient, std::nullopt, frame);
  }

  // Every batch the log serves from `from` to its end, concatenated.
  std::vector<uint8_t> served(Log& log, int64_t from = 0) {
    std::vector<uint8_t> out;
    int64_t off = from;
    while (off < log.log_end_offset()) {
      auto r = log.read(off, 1 << 20, true, log.log_end_offset());
      EXPECT_TRUE(r.ok());
      if (!r.ok() || r->size == 0) break;
      auto bytes = test::read_range(*r);
      for (const auto& h : test::headers_of(bytes)) off = h.next_offset();
      out.insert(out.end(), bytes.begin(), bytes.end());
    }
    return out;
  }

  std::vector<uint8_t> all_frames() const {
    std::vector<uint8_t> out;
    for (const auto& f : frames) out.insert(out.end(), f->begin(), f->end());
    return out;
  }
};

TEST_F(LogStagingTest, StagedAppendIsNotReadableUntilWritten) {
  auto log = open_log();
  ASSERT_TRUE(log);
  auto a = stage(*log);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->staged);
  EXPECT_EQ(a->first_offset, 0);
  auto b = stage(*log);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first_offset, 3);  // offsets assigned past what is staged
  EXPECT_EQ(log->log_end_offset(), 0);
  EXPECT_EQ(log->size_in_bytes(), 0u);
  auto r = log->read(0, 1 << 20, true, 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size, 0u);  // nothing readable yet
  log->advance_high_watermark(6);
  EXPECT_EQ(log->high_watermark(), 0);  // clamped to what is written

  auto written = log->write_staged(a->last_offset + 1);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, 6);  // everything staged goes in the one write
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_EQ(served(*log), all_frames());
  // The second answer finds its append written already.
  auto again = log->write_staged(b->last_offset + 1);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 6);
}

TEST_F(LogStagingTest, UnstagedAppendWritesWhatIsStagedFirst) {
  auto log = open_log();
  ASSERT_TRUE(log);
  ASSERT_TRUE(stage(*log).ok());
  auto plain = test::make_batch(2, clock->now_ms());
  auto r = log->append_as_leader(plain, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->staged);
  EXPECT_EQ(r->first_offset, 3);
  EXPECT_EQ(log->log_end_offset(), 5);
  auto expected = all_frames();
  expected.insert(expected.end(), plain.begin(), plain.end());
  EXPECT_EQ(served(*log), expected);
}

TEST_F(LogStagingTest, NotStagedWhenEveryAppendMustBeFlushed) {
  config.flush_messages = 1;
  auto log = open_log();
  ASSERT_TRUE(log);
  auto r = stage(*log);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->staged);
  EXPECT_EQ(log->log_end_offset(), 3);
  EXPECT_GE(log->recovery_point(), 3);
}

TEST_F(LogStagingTest, RollWritesStagedAppendsIntoTheOldSegment) {
  auto log = open_log();  // segment.bytes 4096
  ASSERT_TRUE(log);
  std::vector<int64_t> ends;
  for (int i = 0; i < 12; ++i) {  // ~400 bytes each: the segment rolls on the way
    auto r = stage(*log);
    ASSERT_TRUE(r.ok());
    ends.push_back(r->last_offset + 1);
  }
  EXPECT_GT(log->segment_base_offsets().size(), 1u);
  EXPECT_LT(log->log_end_offset(), ends.back());  // the newest are still staged
  ASSERT_TRUE(log->write_staged(ends.back()).ok());
  EXPECT_EQ(log->log_end_offset(), 36);
  EXPECT_EQ(served(*log), all_frames());

  ASSERT_TRUE(stage(*log).ok());
  log->roll();  // an explicit roll writes them first too
  EXPECT_EQ(log->log_end_offset(), 39);
  EXPECT_EQ(log->segment_base_offsets().back(), 39);
  EXPECT_EQ(served(*log), all_frames());
}

TEST_F(LogStagingTest, TruncationCountsStagedAppends) {
  auto log = open_log();
  ASSERT_TRUE(log);
  ASSERT_TRUE(stage(*log).ok());
  ASSERT_TRUE(stage(*log).ok());
  auto t = log->truncate_to(3);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(log->log_end_offset(), 3);
  frames.pop_back();
  EXPECT_EQ(served(*log), all_frames());
  auto next = stage(*log);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->first_offset, 3);
}

TEST_F(LogStagingTest, CloseWritesStagedAppends) {
  {
    auto log = open_log();
    ASSERT_TRUE(log);
    ASSERT_TRUE(stage(*log).ok());
    log->close();
    EXPECT_EQ(log->log_end_offset(), 3);
  }
  auto reopened = open_log();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->log_end_offset(), 3);
  EXPECT_EQ(served(*reopened), all_frames());
}

TEST_F(LogStagingTest, ManyStagedAppendsGoOutInOneGatherWrite) {
  config.segment_bytes = 64 << 20;
  config.segment_index_bytes = 1 << 20;
  auto log = open_log();
  ASSERT_TRUE(log);
  int64_t end = 0;
  for (int i = 0; i < 1500; ++i) {  // more pieces than one pwritev takes (IOV_MAX 1024)
    auto r = stage(*log, 1, 10);
    ASSERT_TRUE(r.ok());
    end = r->last_offset + 1;
  }
  ASSERT_TRUE(log->write_staged(end).ok());
  EXPECT_EQ(log->log_end_offset(), 1500);
  EXPECT_EQ(served(*log), all_frames());
}

TEST_F(LogStagingTest, RetryOfAStagedBatchIsAnsweredOnlyOnceItIsWritten) {
  auto log = open_log();
  ASSERT_TRUE(log);
  protocol::RecordBatchOptions o;
  o.producer_id = 7;
  o.producer_epoch = 0;
  o.base_sequence = 0;
  auto original = std::make_shared<std::vector<uint8_t>>(test::make_batch(2, clock->now_ms(), 10, o));
  frames.push_back(original);
  auto staged = log->append_as_leader(*original, 0, AppendOrigin::kClient, std::nullopt, original);
  ASSERT_TRUE(staged.ok());
  ASSERT_TRUE(staged->staged);
  // A retry staged in turn: a duplicate, still to be published by its caller.
  auto retry1 = test::make_batch(2, clock->now_ms(), 10, o);
  auto dup1 = log->append_as_leader(retry1, 0, AppendOrigin::kClient, std::nullopt,
                                    std::make_shared<int>(0));
  ASSERT_TRUE(dup1.ok());
  EXPECT_TRUE(dup1->duplicate);
  EXPECT_TRUE(dup1->staged);
  EXPECT_EQ(log->log_end_offset(), 0);
  // A retry that cannot wait for a turn's end (no owner) writes it first.
  auto retry2 = test::make_batch(2, clock->now_ms(), 10, o);
  auto dup2 = log->append_as_leader(retry2, 0);
  ASSERT_TRUE(dup2.ok());
  EXPECT_TRUE(dup2->duplicate);
  EXPECT_FALSE(dup2->staged);
  EXPECT_EQ(dup2->first_offset, 0);
  EXPECT_EQ(log->log_end_offset(), 2);
  EXPECT_EQ(served(*log), all_frames());
}

TEST_F(LogStagingTest, DeletedLogDropsStagedAppendsAndTheirFrames) {
  auto log = open_log();
  ASSERT_TRUE(log);
  auto r = stage(*log);
  ASSERT_TRUE(r.ok());
  std::weak_ptr<std::vector<uint8_t>> frame = frames.back();
  frames.clear();
  EXPECT_FALSE(frame.expired());  // the log keeps it until written
  log->mark_deleted();
  EXPECT_TRUE(frame.expired());
  auto w = log->write_staged(r->last_offset + 1);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, LogErrc::kLogClosed);
  EXPECT_EQ(log->log_end_offset(), 0);
}

struct LogStagingFaultTest : LogStagingTest {
  util::FaultInjectionEnv env;
  int io_errors = 0;
  LogStagingFaultTest() { util::Env::mount(tmp.path(), &env); }
  ~LogStagingFaultTest() override { util::Env::unmount(tmp.path()); }
};

TEST_F(LogStagingFaultTest, WriteFailureTakesTheLogOfflineAndAnswersNoOffset) {
  LogOpenOptions o;
  o.dir = log_dir();
  o.tp = {"topic", 0};
  o.config = config;
  o.clock = clock;
  o.clean_shutdown = true;
  o.on_io_error = [this](const std::string&) { ++io_errors; };
  auto opened = Log::open(o);
  ASSERT_TRUE(opened.ok());
  auto log = opened.value();
  auto a = stage(*log);
  auto b = stage(*log);
  ASSERT_TRUE(a.ok() && b.ok());
  env.short_write_at(env.op_count() + 1);
  auto w = log->write_staged(a->last_offset + 1);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, LogErrc::kStorageError);
  EXPECT_TRUE(log->offline());
  EXPECT_EQ(io_errors, 1);
  EXPECT_EQ(log->log_end_offset(), 0);  // nothing of it was published
  auto w2 = log->write_staged(b->last_offset + 1);
  ASSERT_FALSE(w2.ok());
  EXPECT_EQ(w2.error().code, LogErrc::kStorageError);
  EXPECT_FALSE(stage(*log).ok());
}

}  // namespace
}  // namespace samsa::log
