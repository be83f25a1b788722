#pragma once
// A MetadataRaft for controller and loader tests: the test decides who leads
// and when appended batches commit. Committed batches and leader changes
// reach the listener on the fake's own delivery thread, in order, as a real
// MetadataRaft's listener thread would deliver them.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "samsa/raft/metadata_raft.h"

namespace samsa::broker::test {

class FakeMetadataRaft : public raft::MetadataRaft {
 public:
  explicit FakeMetadataRaft(raft::NodeId self) : self_(self), thread_([this] { run(); }) {}
  ~FakeMetadataRaft() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void register_listener(raft::MetadataListener* listener) override { listener_ = listener; }
  raft::NodeId node_id() const override { return self_; }
  raft::LeaderAndEpoch leader() const override {
    std::lock_guard lock(mu_);
    return leader_;
  }
  raft::Offset high_watermark() const override {
    std::lock_guard lock(mu_);
    return high_watermark_;
  }
  std::variant<raft::Offset, raft::AppendError> append(raft::Epoch epoch, std::vector<std::string> records) override {
    std::lock_guard lock(mu_);
    if (leader_.leader_id != self_ || leader_.epoch != epoch) return raft::AppendError::kNotLeader;
    if (fail_appends) return raft::AppendError::kIoError;
    raft::CommittedBatch batch;
    batch.base_offset = end_offset_;
    batch.last_offset = end_offset_ + static_cast<raft::Offset>(records.size()) - 1;
    batch.epoch = epoch;
    batch.records = std::move(records);
    end_offset_ = batch.last_offset + 1;
    appended.push_back(batch);
    if (auto_commit) commit_locked(batch);
    return batch.last_offset;
  }
  void create_snapshot(raft::OffsetAndEpoch id, std::vector<std::string> records) override {
    std::lock_guard lock(mu_);
    snapshots.push_back({id, std::move(records)});
  }

  // Test controls: each is delivered to the listener in call order.
  void elect(raft::LeaderAndEpoch leader) {
    std::lock_guard lock(mu_);
    leader_ = leader;
    if (leader.leader_id == self_) {  // a new leader writes a LeaderChange control batch first
      raft::CommittedBatch control;
      control.base_offset = control.last_offset = end_offset_++;
      control.epoch = leader.epoch;
      control.control = true;
      commit_locked(control);
    }
    post_locked([this, leader] { listener_->handle_leader_change(leader); });
  }
  void commit_pending() {
    std::lock_guard lock(mu_);
    for (const auto& b : appended)
      if (b.last_offset >= high_watermark_) commit_locked(b);
  }
  void load_snapshot(raft::OffsetAndEpoch id, std::vector<std::string> records) {
    std::lock_guard lock(mu_);
    end_offset_ = high_watermark_ = id.offset;
    post_locked([this, id, records] { listener_->handle_load_snapshot(id, records); });
  }
  // Waits until the delivery thread has run everything posted so far.
  void drain() {
    std::unique_lock lock(mu_);
    idle_cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
  }

  bool auto_commit = true;
  bool fail_appends = false;
  std::vector<raft::CommittedBatch> appended;
  std::vector<std::pair<raft::OffsetAndEpoch, std::vector<std::string>>> snapshots;

 private:
  void commit_locked(const raft::CommittedBatch& batch) {
    high_watermark_ = batch.last_offset + 1;
    post_locked([this, batch] { listener_->handle_commit(batch); });
  }
  void post_locked(std::function<void()> job) {
    queue_.push_back(std::move(job));
    cv_.notify_all();
  }
  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto job = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      lock.unlock();
      job();
      lock.lock();
      busy_ = false;
      idle_cv_.notify_all();
    }
  }

  const raft::NodeId self_;
  raft::MetadataListener* listener_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::function<void()>> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  raft::LeaderAndEpoch leader_;
  raft::Offset end_offset_ = 0;
  raft::Offset high_watermark_ = 0;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace samsa::broker::test
