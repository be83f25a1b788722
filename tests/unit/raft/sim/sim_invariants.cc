#include "sim_invariants.h"

#include <fmt/format.h>

namespace samsa::raft::sim {

void InvariantChecker::fail(int64_t now_ms, const std::string& what) {
  if (!violation_) violation_ = fmt::format("t={}ms: {}", now_ms, what);
}

bool InvariantChecker::holds_committed_prefix(const MemoryLog& log, Offset count, bool flushed_only) const {
  if (count == 0) return true;
  Offset have = flushed_only ? log.flushed_offset() : log.end_offset();
  // Log matching: the same entry (epoch, offset) implies the same prefix, and
  // (4) already compared every prefix that was reported committed.
  return have >= count && log.entries()[count - 1] == committed_[count - 1];
}

void InvariantChecker::on_restart(NodeId id) {
  last_hw_[id] = 0;
  verified_[id] = 0;
}

void InvariantChecker::on_truncate(int64_t now_ms, NodeId id, const MemoryLog& log, Offset offset) {
  Offset end = std::min({log.flushed_offset(), static_cast<Offset>(committed_.size())});
  for (Offset o = offset; o < end; ++o)
    if (log.entries()[o] == committed_[o])
      return fail(now_ms, fmt::format("node {} truncates to {}: loses committed entry at offset {}", id, offset, o));
  verified_[id] = std::min(verified_[id], offset);
}

void InvariantChecker::check_node(int64_t now_ms, const NodeView& n) {
  const RaftClient& c = *n.client;
  const MemoryLog& log = *n.log;
  Epoch& last_epoch = last_epoch_[n.id];
  if (c.epoch() < last_epoch)
    return fail(now_ms, fmt::format("node {} epoch went back {} -> {}", n.id, last_epoch, c.epoch()));
  last_epoch = c.epoch();

  Role role = c.role();
  if (!n.voter && (role != Role::kUnattached && role != Role::kFollower))
    return fail(now_ms, fmt::format("observer {} is {}", n.id, role_name(role)));
  if (!n.voter && c.voted_id() != kNoNode) return fail(now_ms, fmt::format("observer {} voted", n.id));

  if (role == Role::kLeader) {
    auto [it, fresh] = leader_of_epoch_.emplace(c.epoch(), n.id);
    if (it->second != n.id)
      return fail(now_ms, fmt::format("two leaders in epoch {}: {} and {}", c.epoch(), it->second, n.id));
    if (fresh && !holds_committed_prefix(log, static_cast<Offset>(committed_.size()), false))
      return fail(now_ms, fmt::format("leader {} of epoch {} lacks committed entries (committed {}, log end {})",
                                      n.id, c.epoch(), committed_.size(), log.end_offset()));
  }

  Offset hw = c.high_watermark();
  Offset& last_hw = last_hw_[n.id];
  if (hw < last_hw) return fail(now_ms, fmt::format("node {} HW went back {} -> {}", n.id, last_hw, hw));
  last_hw = hw;
  if (hw > log.end_offset())
    return fail(now_ms, fmt::format("node {} HW {} beyond its log end {}", n.id, hw, log.end_offset()));
  Offset& verified = verified_[n.id];
  for (Offset o = verified; o < hw; ++o) {
    const Entry& e = log.entries()[o];
    if (o < static_cast<Offset>(committed_.size())) {
      if (!(e == committed_[o]))
        return fail(now_ms, fmt::format("node {} below HW {} differs from the committed log at {}", n.id, hw, o));
    } else {
      committed_.push_back(e);
    }
  }
  verified = std::max(verified, hw);
}

void InvariantChecker::check(int64_t now_ms, const std::vector<NodeView>& nodes) {
  for (const auto& n : nodes)
    if (n.client && ok()) check_node(now_ms, n);
  if (!ok() || committed_.empty()) return;
  size_t durable = 0;
  for (const auto& n : nodes)
    if (n.voter && holds_committed_prefix(*n.log, static_cast<Offset>(committed_.size()), true)) ++durable;
  if (durable < majority_)
    fail(now_ms, fmt::format("committed offset {} is durable on only {} voters", committed_.size(), durable));
}

}  // namespace samsa::raft::sim
