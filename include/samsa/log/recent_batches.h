#pragma once
// Where the active segment's most recent batches lie, kept in memory so that
// a fetch at the log's tail finds its batch without reading the file. The
// pages such a read would touch are the ones being written: the writer holds
// their page lock during its write (and writeback holds it too), so a pread
// there waits on the file system, and fetches at the tail run on network
// threads (a produce wakes the parked fetch on the producing thread).
//
// The ring holds the last kCapacity batches in file order, back to back
// (each one starts where the previous one ends). It covers an offset when
// the first batch whose last offset is >= it must be in the ring: the offset
// is at or after the oldest batch's base offset, or the oldest batch is the
// segment's first.
//
// Threads: record(), truncate_from() and clear() come from the segment's
// one appender (the log's append lock); find() from any thread. A mutex held
// for a few comparisons and one copy orders them, never across I/O.
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "samsa/log/batch_location.h"

namespace samsa::log {

class RecentBatches {
 public:
  static constexpr size_t kCapacity = 128;

  // The batch at `position`, appended after those recorded so far. A batch
  // that does not start where the newest one ends starts the ring afresh.
  // The memory (kCapacity slots) is taken at the first record.
  void record(const protocol::RecordBatchHeader& header, uint64_t position);
  // Forgets the batches at or after `position` (the file was truncated there).
  void truncate_from(uint64_t position);
  // Forgets everything and frees the memory (segment rolled, or recovered).
  void clear();

  // What a header scan of the file would answer for "first batch with last
  // offset >= offset that ends at or before limit":
  //   nullopt          the ring does not know (not covered, or data before
  //                    `limit` is not in the ring): scan the file;
  //   a nullopt inside no such batch before `limit`;
  //   a location       that batch.
  // REQUIRES: `limit` <= the segment's published size, so only written
  // batches are returned.
  std::optional<std::optional<BatchLocation>> find(int64_t offset, uint64_t limit) const;

  size_t size() const;

 private:
  const BatchLocation& at(size_t i) const { return slots_[(head_ + i) % kCapacity]; }

  mutable std::mutex mu_;
  std::vector<BatchLocation> slots_;  // kCapacity once used; a ring from head_
  size_t head_ = 0;                   // oldest
  size_t count_ = 0;
};

}  // namespace samsa::log
