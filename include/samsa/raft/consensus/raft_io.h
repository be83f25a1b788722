#pragma once
// The Raft client's dependencies, behind interfaces so the same client runs in
// the server and in the deterministic simulation (tests/unit/raft/sim).
// Threading: all of them are called only from the thread that drives the
// RaftClient; implementations need no locking for the client's sake.
#include <optional>
#include <string>
#include <vector>

#include "samsa/raft/consensus/raft_messages.h"
#include "samsa/raft/consensus/raft_types.h"

namespace samsa::raft {

class Time {
 public:
  virtual ~Time() = default;
  virtual int64_t now_ms() const = 0;
};

// Randomness for election timeouts; the simulation seeds it.
class Random {
 public:
  virtual ~Random() = default;
  virtual int64_t next(int64_t bound) = 0;  // uniform in [0, bound); 0 if bound <= 0
};

// Outbound messages. Inbound ones are handed to RaftClient::handle by the owner.
// Delivery is best effort: a message may be lost, delayed or reordered.
class NetworkChannel {
 public:
  virtual ~NetworkChannel() = default;
  virtual void send(RaftMessage message) = 0;
};

// The replicated log with its leader-epoch history. It holds whole entries
// (record batches, raft_types.h); offsets count records, and every offset
// passed in or returned below is a batch boundary unless said otherwise.
class ReplicatedLog {
 public:
  virtual ~ReplicatedLog() = default;
  virtual Offset end_offset() const = 0;
  virtual Epoch last_fetched_epoch() const = 0;  // epoch of the last entry; 0 if empty
  virtual Offset flushed_offset() const = 0;     // entries below it survive a crash
  // Stamps every entry with `epoch`; returns the base offset of the first.
  virtual Offset append_as_leader(std::vector<Entry> entries, Epoch epoch) = 0;
  // Appends entries as replicated (epochs kept) at end_offset().
  virtual void append_as_follower(std::vector<Entry> entries) = 0;
  // REQUIRES: offset <= end_offset() and a batch boundary. Removes the entries
  // at and above offset.
  virtual void truncate_to(Offset offset) = 0;
  // Whole entries from the one starting at `from` (a batch boundary), at most
  // `max_entries` of them; empty if `from` is at or past the end.
  virtual std::vector<Entry> read(Offset from, size_t max_entries) const = 0;
  // Kafka's endOffsetForEpoch: the largest epoch <= `epoch` present in the
  // log and the end offset of that epoch; {0, 0} if there is none. Once the
  // log starts after a snapshot, epochs no remaining entry answers are
  // answered by the snapshot at start_offset(): {start_offset(), its epoch}.
  virtual OffsetAndEpoch end_offset_for_epoch(Epoch epoch) const = 0;
  virtual void flush() = 0;

  // Snapshots (KIP-630).
  virtual Offset start_offset() const = 0;  // entries below it exist only in the snapshot (0 if none trimmed)
  virtual std::optional<OffsetAndEpoch> latest_snapshot() const = 0;
  // A snapshot's whole content; opaque to consensus (the server stores Kafka .checkpoint file bytes).
  virtual std::optional<std::string> read_snapshot(OffsetAndEpoch id) const = 0;
  // Durably stores a snapshot of everything below id.offset (a batch boundary <= end_offset(), or any offset when
  // followed by reset_to_snapshot); id.epoch = epoch of the last entry it covers.
  virtual void store_snapshot(OffsetAndEpoch id, std::string content) = 0;
  // Drops whole entries below the latest snapshot's offset; start_offset() becomes that offset.
  virtual void trim_to_snapshot() = 0;
  // Replace the log by the stored snapshot `id` (a follower that fell behind the leader's log start): empty log,
  // start_offset() == end_offset() == id.offset, last_fetched_epoch() == id.epoch; end_offset_for_epoch answers id
  // for epochs it covers.
  virtual void reset_to_snapshot(OffsetAndEpoch id) = 0;
};

// What quorum-state persists. Written (durably) before the client acts on it:
// a vote is never answered before the vote is on disk.
struct ElectionState {
  Epoch epoch = 0;
  NodeId leader_id = kNoNode;
  NodeId voted_id = kNoNode;
  bool operator==(const ElectionState&) const = default;
};

class QuorumStateStore {
 public:
  virtual ~QuorumStateStore() = default;
  virtual std::optional<ElectionState> read() = 0;
  virtual void write(const ElectionState& state) = 0;
};

}  // namespace samsa::raft
