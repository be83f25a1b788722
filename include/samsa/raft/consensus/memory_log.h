#pragma once
// An in-memory ReplicatedLog that models durability: entries above
// flushed_offset() are lost by crash(); snapshots are durable once stored.
// Used by the simulation; also the reference behaviour for a disk-backed
// implementation.
// Threading: none; owned by one thread.
#include <functional>
#include <map>

#include "samsa/raft/consensus/raft_io.h"

namespace samsa::raft {

class MemoryLog final : public ReplicatedLog {
 public:
  // One stored entry and the offset of its first record.
  struct Batch {
    Offset base = 0;
    Entry entry;
    Offset end() const { return base + entry.size(); }
    bool operator==(const Batch&) const = default;
  };

  Offset end_offset() const override { return end_; }
  Epoch last_fetched_epoch() const override {
    return batches_.empty() ? start_.epoch : batches_.back().entry.epoch;
  }
  Offset flushed_offset() const override { return flushed_; }
  Offset append_as_leader(std::vector<Entry> entries, Epoch epoch) override;
  void append_as_follower(std::vector<Entry> entries) override;
  void truncate_to(Offset offset) override;
  std::vector<Entry> read(Offset from, size_t max_entries) const override;
  OffsetAndEpoch end_offset_for_epoch(Epoch epoch) const override;
  void flush() override { flushed_ = end_; }

  Offset start_offset() const override { return start_.offset; }
  std::optional<OffsetAndEpoch> latest_snapshot() const override;
  std::optional<std::string> read_snapshot(OffsetAndEpoch id) const override;
  void store_snapshot(OffsetAndEpoch id, std::string content) override;
  void trim_to_snapshot() override;
  void reset_to_snapshot(OffsetAndEpoch id) override;

  // The process died: what was not flushed is gone (flushed_offset() is
  // always a batch boundary: flush() covers whole entries). Snapshots stay.
  void crash();
  const std::vector<Batch>& batches() const { return batches_; }
  // The entry whose first record is at `base`; nullptr if none starts there.
  const Entry* entry_at(Offset base) const;
  // Called before a truncation with [offset, end) about to be removed, so a
  // checker can see what was lost.
  std::function<void(Offset offset)> on_truncate;
  // Called after reset_to_snapshot replaced the log.
  std::function<void(OffsetAndEpoch id)> on_reset;

 private:
  // Index in batches_ of the entry starting at `base`; npos if none.
  size_t index_of(Offset base) const;
  void push(Entry e);

  std::vector<Batch> batches_;  // the entries from start_.offset on
  // The log start and the epoch of the last entry below it (the snapshot's id
  // once trimmed; {0, 0} before).
  OffsetAndEpoch start_;
  Offset end_ = 0;
  Offset flushed_ = 0;
  std::map<Offset, std::pair<OffsetAndEpoch, std::string>> snapshots_;
};

}  // namespace samsa::raft
