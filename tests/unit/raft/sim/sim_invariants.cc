#include "sim_invariants.h"

#include <algorithm>

#include <fmt/format.h>

namespace samsa::raft::sim {
namespace {

// The first batch of `log` at or after `offset`.
std::vector<MemoryLog::Batch>::const_iterator from(const MemoryLog& log, Offset offset) {
  return std::lower_bound(log.batches().begin(), log.batches().end(), offset,
                          [](const MemoryLog::Batch& b, Offset o) { return b.base < o; });
}

}  // namespace

void InvariantChecker::fail(int64_t now_ms, const std::string& what) {
  if (!violation_) violation_ = fmt::format("t={}ms: {}", now_ms, what);
}

const MemoryLog::Batch* InvariantChecker::committed_at(Offset base) const {
  auto it = std::lower_bound(committed_.begin(), committed_.end(), base,
                             [](const MemoryLog::Batch& b, Offset o) { return b.base < o; });
  return it != committed_.end() && it->base == base ? &*it : nullptr;
}

bool InvariantChecker::holds_committed_prefix(const MemoryLog& log, bool flushed_only) const {
  if (committed_.empty()) return true;
  Offset have = flushed_only ? log.flushed_offset() : log.end_offset();
  const MemoryLog::Batch& last = committed_.back();
  // All of it in a snapshot (checked against the committed state by (7)).
  if (log.start_offset() >= last.end()) return true;
  // Log matching: the same entry (epoch, offset) implies the same prefix, and
  // (4) already compared every prefix that was reported committed.
  const Entry* mine = log.entry_at(last.base);
  return have >= last.end() && mine != nullptr && *mine == last.entry;
}

const SimState* InvariantChecker::committed_state_at(Offset offset) const {
  auto it = std::lower_bound(committed_.begin(), committed_.end(), offset,
                             [](const MemoryLog::Batch& b, Offset o) { return b.end() < o; });
  if (it == committed_.end() || it->end() != offset) return nullptr;
  return &states_[static_cast<size_t>(it - committed_.begin())];
}

const std::string* InvariantChecker::committed_image_at(Offset offset) {
  if (offset == 0) {
    if (empty_canonical_.empty()) empty_canonical_ = canonical(*empty_image());
    return &empty_canonical_;
  }
  auto it = std::lower_bound(committed_.begin(), committed_.end(), offset,
                             [](const MemoryLog::Batch& b, Offset o) { return b.end() < o; });
  if (it == committed_.end() || it->end() != offset) return nullptr;
  auto i = static_cast<size_t>(it - committed_.begin());
  if (!canonical_[i]) canonical_[i] = canonical(*images_[i]);
  return &*canonical_[i];
}

void InvariantChecker::check_image(int64_t now_ms, NodeId id, Offset applied, const std::string& canonical_image) {
  if (!ok()) return;
  const std::string* want = committed_image_at(applied);
  if (want == nullptr)
    return fail(now_ms, fmt::format("node {} image at {} is not at the end of a committed entry", id, applied));
  if (*want != canonical_image)
    fail(now_ms, fmt::format("node {} metadata image at {} differs from the committed log's ({} vs {} bytes)", id,
                             applied, canonical_image.size(), want->size()));
}

void InvariantChecker::on_restart(NodeId id) {
  last_hw_[id] = 0;
  verified_[id] = 0;
  snapshot_checked_.erase(id);
}

void InvariantChecker::on_reset(NodeId id, OffsetAndEpoch snapshot) {
  verified_[id] = snapshot.offset;
}

void InvariantChecker::check_state(int64_t now_ms, const NodeView& n) {
  const SimState& st = *n.state;
  if (st.applied == 0) {
    if (!(st == SimState{})) fail(now_ms, fmt::format("node {} applied nothing but has state {}", n.id, st.encode()));
    return;
  }
  const SimState* want = committed_state_at(st.applied);
  if (want == nullptr)
    return fail(now_ms, fmt::format("node {} applied to {}, not the end of a committed entry (committed {})", n.id,
                                    st.applied, committed_end()));
  if (!(*want == st))
    fail(now_ms, fmt::format("node {} state at {} is {}, the committed log gives {}", n.id, st.applied, st.encode(),
                             want->encode()));
}

void InvariantChecker::check_snapshot(int64_t now_ms, const NodeView& n) {
  auto id = n.log->latest_snapshot();
  if (!id) return;
  auto [it, fresh] = snapshot_checked_.emplace(n.id, *id);
  if (!fresh && it->second == *id) return;
  it->second = *id;
  auto content = n.log->read_snapshot(*id);
  auto snap = content ? decode_snapshot(*content) : std::nullopt;
  const SimState* want = committed_state_at(id->offset);
  if (!snap || want == nullptr)
    return fail(now_ms, fmt::format("node {} snapshot {}-{} is not of a committed prefix (committed {})", n.id,
                                    id->offset, id->epoch, committed_end()));
  if (!(snap->state == *want) || want->last_epoch != id->epoch)
    return fail(now_ms, fmt::format("node {} snapshot {}-{} holds {}, the committed log gives {}", n.id, id->offset,
                                    id->epoch, snap->state.encode(), want->encode()));
  auto voters = snapshot_voters(*content);  // none: the initial set
  if ((voters ? voter_ids(*voters) : committed_voters_.begin()->second) != committed_voters_at(id->offset))
    return fail(now_ms, fmt::format("node {} snapshot {}-{} does not name the voter set in force at its offset",
                                    n.id, id->offset, id->epoch));
  if (controller_ && snap->image_bytes != *committed_image_at(id->offset))
    fail(now_ms, fmt::format("node {} snapshot {}-{}: its metadata image differs from the committed log's", n.id,
                             id->offset, id->epoch));
}

void InvariantChecker::on_truncate(int64_t now_ms, NodeId id, const MemoryLog& log, Offset offset) {
  Offset end = std::min(log.flushed_offset(), committed_end());
  for (auto it = from(log, offset); it != log.batches().end() && it->end() <= end; ++it) {
    const MemoryLog::Batch& b = *it;
    const MemoryLog::Batch* c = committed_at(b.base);
    if (c != nullptr && *c == b)
      return fail(now_ms,
                  fmt::format("node {} truncates to {}: loses committed entry at offset {}", id, offset, b.base));
  }
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
    if (fresh && !holds_committed_prefix(log, false))
      return fail(now_ms, fmt::format("leader {} of epoch {} lacks committed entries (committed {}, log end {})",
                                      n.id, c.epoch(), committed_end(), log.end_offset()));
  }

  Offset hw = c.high_watermark();
  Offset& last_hw = last_hw_[n.id];
  if (hw < last_hw) return fail(now_ms, fmt::format("node {} HW went back {} -> {}", n.id, last_hw, hw));
  last_hw = hw;
  if (hw > log.end_offset())
    return fail(now_ms, fmt::format("node {} HW {} beyond its log end {}", n.id, hw, log.end_offset()));
  if (hw > log.start_offset() && log.entry_at(hw) == nullptr && hw != log.end_offset())
    return fail(now_ms, fmt::format("node {} HW {} is inside a batch", n.id, hw));
  Offset& verified = verified_[n.id];
  for (auto it = from(log, verified); it != log.batches().end() && it->end() <= hw; ++it) {
    const MemoryLog::Batch& b = *it;
    if (b.base < committed_end()) {
      const MemoryLog::Batch* committed = committed_at(b.base);
      if (committed == nullptr || !(*committed == b))
        return fail(now_ms,
                    fmt::format("node {} below HW {} differs from the committed log at {}", n.id, hw, b.base));
    } else if (b.base == committed_end()) {
      SimState next = states_.empty() ? SimState{} : states_.back();
      next.apply(b);
      committed_.push_back(b);
      states_.push_back(next);
      if (auto voters = voters_of(b.entry)) committed_voters_[b.base] = voter_ids(*voters);
      if (controller_) {
        images_.push_back(apply_entry(images_.empty() ? empty_image() : images_.back(), b));
        canonical_.emplace_back();
      }
    } else {
      return fail(now_ms, fmt::format("node {} commits {} past a gap at {}", n.id, b.base, committed_end()));
    }
  }
  verified = std::max(verified, hw);
}

void InvariantChecker::check(int64_t now_ms, const std::vector<NodeView>& nodes) {
  for (const auto& n : nodes)
    if (n.client && ok()) check_node(now_ms, n);
  for (const auto& n : nodes) {
    if (ok() && n.state) check_state(now_ms, n);
    if (ok()) check_snapshot(now_ms, n);
  }
  if (!ok() || committed_.empty()) return;
  std::vector<NodeId> durable;
  for (const auto& n : nodes)
    if (holds_committed_prefix(*n.log, true)) durable.push_back(n.id);
  auto durable_on_majority = [&](const std::vector<NodeId>& voters) {
    size_t count = 0;
    for (NodeId v : voters) count += std::count(durable.begin(), durable.end(), v);
    return count >= voters.size() / 2 + 1;
  };
  const std::vector<NodeId>& committed_set = committed_voters_.rbegin()->second;
  if (durable_on_majority(committed_set)) return;
  if (durable_on_majority(proposed_voters_)) return;
  fail(now_ms, fmt::format("committed offset {} is durable on only {} nodes, no majority of any voter set",
                           committed_end(), durable.size()));
}

}  // namespace samsa::raft::sim
