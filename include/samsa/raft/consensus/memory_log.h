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
  Offset end_offset() const override { return static_cast<Offset>(entries_.size()); }
  Epoch last_fetched_epoch() const override { return entries_.empty() ? 0 : entries_.back().epoch; }
  Offset flushed_offset() const override { return flushed_; }
  Offset append_as_leader(std::vector<Entry> entries, Epoch epoch) override;
  void append_as_follower(std::vector<Entry> entries) override;
  void truncate_to(Offset offset) override;
  std::vector<Entry> read(Offset from, size_t max_entries) const override;
  OffsetAndEpoch end_offset_for_epoch(Epoch epoch) const override;
  void flush() override { flushed_ = end_offset(); }

  // The process died: what was not flushed is gone.
  void crash() { entries_.resize(static_cast<size_t>(flushed_)); }
  const std::vector<Entry>& entries() const { return entries_; }
  // Called before a truncation with [offset, end) about to be removed, so a
  // checker can see what was lost.
  std::function<void(Offset offset)> on_truncate;

 private:
  std::vector<Entry> entries_;
  Offset flushed_ = 0;
};

}  // namespace samsa::raft
