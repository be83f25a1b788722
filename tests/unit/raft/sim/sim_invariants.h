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
//     entry is flushed on a majority of voters at all times. With voter
//     changes (KIP-853, one voter at a time) "the voters" are the committed
//     voter set or the newest one a leader appended: a change in
//     flight commits under the new set, whose majorities overlap the old's.
//  6. Observers never vote, pre-vote, stand or lead.
//     (And, checked by the cluster, which knows the network: a leader cut off
//     from a majority of live voters resigns within the fetch timeout.)
//  7. Every node's applied state equals the state built from the committed
//     log up to the offset it applied to, and every snapshot a node holds
//     equals that state at the snapshot's offset (with the epoch of the
//     committed entry ending there), and names the voter set the committed
//     log has in force at that offset.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "samsa/raft/consensus/memory_log.h"
#include "samsa/raft/consensus/raft_client.h"
#include "sim_metadata.h"
#include "sim_state.h"
#include "sim_voters.h"

namespace samsa::raft::sim {

struct NodeView {
  NodeId id = kNoNode;
  bool voter = false;
  const RaftClient* client = nullptr;  // nullptr while the node is down
  const MemoryLog* log = nullptr;
  const SimState* state = nullptr;  // what the node applied; nullptr while down
};

class InvariantChecker {
 public:
  // The initial voters are nodes 1..voters.
  explicit InvariantChecker(size_t voters) {
    std::vector<NodeId> initial;
    for (size_t i = 1; i <= voters; ++i) initial.push_back(static_cast<NodeId>(i));
    committed_voters_[-1] = initial;
  }

  void check(int64_t now_ms, const std::vector<NodeView>& nodes);
  // Before `log` of node `id` loses [offset, end).
  void on_truncate(int64_t now_ms, NodeId id, const MemoryLog& log, Offset offset);
  // Controller mode: the committed log holds metadata records; keep the
  // image of every committed prefix too.
  void set_controller(bool on) { controller_ = on; }
  // Node `id`'s image after applying everything below `applied`, as
  // canonical bytes (sim_metadata.h): must equal the committed log's.
  void check_image(int64_t now_ms, NodeId id, Offset applied, const std::string& canonical_image);
  void on_restart(NodeId id);
  // A leader appended a Voters entry naming `voters` (KIP-853).
  void on_voters_proposed(std::vector<NodeId> voters) { proposed_voters_ = std::move(voters); }
  // Node `id` (an observer) lost its disk: it starts over from epoch 0.
  void on_wipe(NodeId id) { last_epoch_.erase(id); }
  // `log` of node `id` was replaced by snapshot `snapshot`.
  void on_reset(NodeId id, OffsetAndEpoch snapshot);

  // A violation the cluster itself detects (it knows the network).
  void fail_external(int64_t now_ms, const std::string& what) { fail(now_ms, what); }
  bool ok() const { return !violation_.has_value(); }
  const std::string& violation() const { return *violation_; }
  // The committed log, batch by batch (bases contiguous from 0).
  const std::vector<MemoryLog::Batch>& committed() const { return committed_; }
  Offset committed_end() const { return committed_.empty() ? 0 : committed_.back().end(); }
  int64_t leaders_elected() const { return static_cast<int64_t>(leader_of_epoch_.size()); }

 private:
  void fail(int64_t now_ms, const std::string& what);
  void check_node(int64_t now_ms, const NodeView& n);
  void check_state(int64_t now_ms, const NodeView& n);
  void check_snapshot(int64_t now_ms, const NodeView& n);
  // The state after the committed batch ending at `offset`; nullptr if no
  // committed batch ends there.
  const SimState* committed_state_at(Offset offset) const;
  // Controller mode: the committed image's canonical bytes at `offset` (a
  // committed batch end, or 0); nullptr if no committed batch ends there.
  const std::string* committed_image_at(Offset offset);
  // Whether `log` holds the whole committed log (flushed, if asked).
  bool holds_committed_prefix(const MemoryLog& log, bool flushed_only) const;
  // The committed batch starting at `base`; nullptr if none does.
  const MemoryLog::Batch* committed_at(Offset base) const;

  // Where the committed log changes the voter set (base offset -> voter
  // ids); key -1 holds the initial set.
  std::map<Offset, std::vector<NodeId>> committed_voters_;
  std::vector<NodeId> proposed_voters_;
  const std::vector<NodeId>& committed_voters_at(Offset offset) const {
    return std::prev(committed_voters_.lower_bound(offset))->second;
  }
  std::vector<MemoryLog::Batch> committed_;
  std::vector<SimState> states_;  // states_[i]: the state after committed_[i]
  bool controller_ = false;
  std::vector<ImagePtr> images_;                  // controller mode: images_[i] after committed_[i]
  std::vector<std::optional<std::string>> canonical_;  // their canonical bytes, computed when asked
  std::string empty_canonical_;
  std::map<NodeId, OffsetAndEpoch> snapshot_checked_;
  std::map<Epoch, NodeId> leader_of_epoch_;
  std::map<NodeId, Epoch> last_epoch_;
  std::map<NodeId, Offset> last_hw_;
  std::map<NodeId, Offset> verified_;  // log prefix already compared with committed_
  std::optional<std::string> violation_;
};

}  // namespace samsa::raft::sim
