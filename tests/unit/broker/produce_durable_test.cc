// Durable mode (log.flush.interval.messages=1): a Produce is answered only
// once the leader's log fsynced the append (its recovery point passed it),
// and the thread that handed the request in is not the one waiting for the
// fsync: other requests are served while an fsync is held.
#include <gtest/gtest.h>

#include <atomic>

#include "produce_fetch_fixture.h"

namespace samsa::broker {
namespace {

// The real file system, except that fsyncs can be held (they wait until
// released) or made to fail, and are counted.
class HoldingEnv final : public util::Env {
 public:
  void hold() {
    std::lock_guard lock(mu_);
    held_ = true;
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      held_ = false;
    }
    cv_.notify_all();
  }
  void fail_syncs() { failing_ = true; }
  // Syncs waiting in hold right now.
  int waiting() {
    std::lock_guard lock(mu_);
    return waiting_;
  }
  uint64_t syncs() const { return syncs_; }

  void sync_point() {
    {
      std::unique_lock lock(mu_);
      ++waiting_;
      cv_.wait(lock, [this] { return !held_; });
      --waiting_;
    }
    ++syncs_;
    if (failing_) throw std::system_error(EIO, std::generic_category(), "injected fsync failure");
  }

  std::unique_ptr<util::File> open_file(const std::string& path, bool create) override {
    return std::make_unique<HeldFile>(*this, posix().open_file(path, create));
  }
  void rename(const std::string& from, const std::string& to) override { posix().rename(from, to); }
  bool remove_file(const std::string& path) override { return posix().remove_file(path); }
  bool remove_dir(const std::string& path) override { return posix().remove_dir(path); }
  bool exists(const std::string& path) override { return posix().exists(path); }
  bool is_directory(const std::string& path) override { return posix().is_directory(path); }
  std::vector<util::DirEntry> list_dir(const std::string& dir) override { return posix().list_dir(dir); }
  void create_dirs(const std::string& dir) override { posix().create_dirs(dir); }
  void sync_dir(const std::string& dir) override {
    sync_point();
    posix().sync_dir(dir);
  }

 private:
  class HeldFile final : public util::File {
   public:
    HeldFile(HoldingEnv& env, std::unique_ptr<util::File> f) : env_(env), f_(std::move(f)) {}
    void write_at(std::span<const uint8_t> data, uint64_t position) override { f_->write_at(data, position); }
    size_t read_at(std::span<uint8_t> data, uint64_t position) override { return f_->read_at(data, position); }
    void sync() override {
      env_.sync_point();
      f_->sync();
    }
    void truncate(uint64_t size) override { f_->truncate(size); }
    void allocate(uint64_t offset, uint64_t len) override { f_->allocate(offset, len); }
    uint64_t size() override { return f_->size(); }
    int64_t mtime_ms() override { return f_->mtime_ms(); }
    int native_fd() const override { return f_->native_fd(); }

   private:
    HoldingEnv& env_;
    std::unique_ptr<util::File> f_;
  };

  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  int waiting_ = 0;
  std::atomic<bool> failing_{false};
  std::atomic<uint64_t> syncs_{0};
};

class DurableProduceTest : public ProduceFetchTest {
 protected:
  DurableProduceTest() : ProduceFetchTest("log.flush.interval.messages=1\n", std::make_shared<HoldingEnv>()) {}
  ~DurableProduceTest() override { env().release(); }

  HoldingEnv& env() { return static_cast<HoldingEnv&>(*env_); }
  std::shared_ptr<log::Log> log0() { return pm->get("t", 0)->log(); }

  // Until a flush thread is inside a held fsync.
  bool wait_for_held_sync() {
    for (int i = 0; i < 500 && env().waiting() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return env().waiting() > 0;
  }

  protocol::ProduceResponse::TopicProduceResponse::PartitionProduceResponse answer(const Pending& p) {
    auto resp = decode<protocol::ProduceResponse>(*p.reply, 0, 9);
    return resp.responses.at(0).partition_responses.at(0);
  }
};

TEST_F(DurableProduceTest, AnsweredOnlyOnceTheFsyncCoversTheAppend) {
  for (int16_t acks : {int16_t{1}, int16_t{-1}}) {
    SCOPED_TRACE("acks=" + std::to_string(acks));
    const int64_t end_before = log0()->log_end_offset();
    env().hold();
    // on_frame returns: the dispatching thread does not wait for the disk.
    auto pending = send(0, 9, produce_req(batch(3), 0, acks));
    ASSERT_TRUE(wait_for_held_sync());
    EXPECT_EQ(log0()->log_end_offset(), end_before + 3);  // written, readable by followers
    EXPECT_LT(log0()->durable_offset(), end_before + 3);
    EXPECT_FALSE(pending->wait(std::chrono::milliseconds(200)));  // not before the fsync

    // Served meanwhile on this same thread: a ListOffsets, and a Fetch
    // that sees only what is durable (the high watermark waits too).
    protocol::ListOffsetsRequest lo;
    lo.replica_id = -1;  // a consumer
    auto& lt = lo.topics.emplace_back();
    lt.name = "t";
    auto& lp = lt.partitions.emplace_back();
    lp.partition_index = 0;
    lp.timestamp = -1;  // latest: the high watermark
    auto offsets = call<protocol::ListOffsetsResponse>(2, 7, lo);
    EXPECT_EQ(offsets.topics.at(0).partitions.at(0).offset, end_before);
    auto fetched = call<protocol::FetchResponse>(1, 12, fetch_req(end_before, 12));
    EXPECT_EQ(fetched.responses.at(0).partitions.at(0).high_watermark, end_before);
    EXPECT_FALSE(pending->reply.has_value());

    env().release();
    ASSERT_TRUE(pending->wait(std::chrono::seconds(5)));
    auto p = answer(*pending);
    EXPECT_EQ(p.error_code, 0);
    EXPECT_EQ(p.base_offset, end_before);
    EXPECT_GE(log0()->durable_offset(), end_before + 3);
    EXPECT_EQ(log0()->high_watermark(), end_before + 3);
  }
}

TEST_F(DurableProduceTest, ConcurrentProducesShareFsyncs) {
  const uint64_t before = log0()->group_commit_count();
  env().hold();
  std::vector<std::shared_ptr<Pending>> pendings;
  pendings.push_back(send(0, 9, produce_req(batch(1), 0, 1)));
  ASSERT_TRUE(wait_for_held_sync());
  // Twenty more while the first fsync is held: one more fsync covers them all.
  for (int i = 0; i < 20; ++i) pendings.push_back(send(0, 9, produce_req(batch(1), 0, 1)));
  env().release();
  for (auto& p : pendings) {
    ASSERT_TRUE(p->wait(std::chrono::seconds(5)));
    EXPECT_EQ(answer(*p).error_code, 0);
  }
  EXPECT_LE(log0()->group_commit_count() - before, 3u);
}

TEST_F(DurableProduceTest, TimesOutWhileTheFsyncIsHeld) {
  env().hold();
  auto req = produce_req(batch(2), 0, 1);
  req.timeout_ms = 100;
  auto pending = send(0, 9, req);
  ASSERT_TRUE(pending->wait(std::chrono::seconds(5)));
  EXPECT_EQ(answer(*pending).error_code, protocol::code(ErrorCode::REQUEST_TIMED_OUT));
  env().release();
}

TEST_F(DurableProduceTest, AFailedFsyncAnswersKafkaStorageError) {
  env().fail_syncs();
  auto pending = send(0, 9, produce_req(batch(2), 0, 1));
  ASSERT_TRUE(pending->wait(std::chrono::seconds(5)));
  EXPECT_EQ(answer(*pending).error_code, protocol::code(ErrorCode::KAFKA_STORAGE_ERROR));
  EXPECT_TRUE(log0()->offline());
}

TEST_F(DurableProduceTest, AcksZeroWaitsForNothing) {
  env().hold();
  auto pending = send(0, 9, produce_req(batch(2), 0, 0));
  ASSERT_TRUE(pending->wait(std::chrono::seconds(5)));
  EXPECT_EQ(pending->reply->kind, net::Reply::Kind::kNoResponse);
  env().release();
}

}  // namespace
}  // namespace samsa::broker
