#pragma once
// An in-memory ReplicatedLog that models durability: entries above
// flushed_offset() are lost by crash(). Used by the simulation; also the
// reference behaviour for a disk-backed implementation.
// Threading: none; owned by one thread.
#include <functional>

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
  Epoch last_fetched_epoch() const override { return batches_.empty() ? 0 : batches_.back().entry.epoch; }
  Offset flushed_offset() const override { return flushed_; }
  Offset append_as_leader(std::vector<Entry> entries, Epoch epoch) override;
  void append_as_follower(std::vector<Entry> entries) override;
  void truncate_to(Offset offset) override;
  std::vector<Entry> read(Offset from, size_t max_entries) const override;
  OffsetAndEpoch end_offset_for_epoch(Epoch epoch) const override;
  void flush() override { flushed_ = end_; }

  // The process died: what was not flushed is gone (flushed_offset() is
  // always a batch boundary: flush() covers whole entries).
  void crash();
  const std::vector<Batch>& batches() const { return batches_; }
  // The entry whose first record is at `base`; nullptr if none starts there.
  const Entry* entry_at(Offset base) const;
  // Called before a truncation with [offset, end) about to be removed, so a
  // checker can see what was lost.
  std::function<void(Offset offset)> on_truncate;

 private:
  // Index in batches_ of the entry starting at `base`; npos if none.
  size_t index_of(Offset base) const;
  void push(Entry e);

  std::vector<Batch> batches_;
  Offset end_ = 0;
  Offset flushed_ = 0;
};

}  // namespace samsa::raft
