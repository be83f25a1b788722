#pragma once
// Safety invariants of the simulation, checked after every step.
//  1. At most one leader per epoch, and an elected leader holds every
//     committed entry (leader completeness).
//  2. Epochs never go backwards on a node, across restarts too (quorum-state
//     is durable).
//  3. A node's high watermark never goes backwards within one process
//     lifetime. Like Kafka, the HW is not persisted: a restarted node starts
//     at 0 and learns it again from the leader; that reset is allowed.
//  4. Below its HW, every node's log equals the committed log (the union of
//     all prefixes any node has reported committed), batch for batch; a HW
//     is always a batch boundary.
//  5. No flushed committed entry is ever truncated away, and every committed
//     entry is flushed on a majority of voters at all times.
//  6. Observers never vote, pre-vote, stand or lead.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "samsa/raft/consensus/memory_log.h"
#include "samsa/raft/consensus/raft_client.h"

namespace samsa::raft::sim {

struct NodeView {
  NodeId id = kNoNode;
  bool voter = false;
  const RaftClient* client = nullptr;  // nullptr while the node is down
  const MemoryLog* log = nullptr;
};

class InvariantChecker {
 public:
  explicit InvariantChecker(size_t voters) : majority_(voters / 2 + 1) {}

  void check(int64_t now_ms, const std::vector<NodeView>& nodes);
  // Before `log` of node `id` loses [offset, end).
  void on_truncate(int64_t now_ms, NodeId id, const MemoryLog& log, Offset offset);
  void on_restart(NodeId id);

  bool ok() const { return !violation_.has_value(); }
  const std::string& violation() const { return *violation_; }
  // The committed log, batch by batch (bases contiguous from 0).
  const std::vector<MemoryLog::Batch>& committed() const { return committed_; }
  Offset committed_end() const { return committed_.empty() ? 0 : committed_.back().end(); }
  int64_t leaders_elected() const { return static_cast<int64_t>(leader_of_epoch_.size()); }

 private:
  void fail(int64_t now_ms, const std::string& what);
  void check_node(int64_t now_ms, const NodeView& n);
  // Whether `log` holds the whole committed log (flushed, if asked).
  bool holds_committed_prefix(const MemoryLog& log, bool flushed_only) const;
  // The committed batch starting at `base`; nullptr if none does.
  const MemoryLog::Batch* committed_at(Offset base) const;

  size_t majority_;
  std::vector<MemoryLog::Batch> committed_;
  std::map<Epoch, NodeId> leader_of_epoch_;
  std::map<NodeId, Epoch> last_epoch_;
  std::map<NodeId, Offset> last_hw_;
  std::map<NodeId, Offset> verified_;  // log prefix already compared with committed_
  std::optional<std::string> violation_;
};

}  // namespace samsa::raft::sim
