#include "samsa/raft/consensus/leader_state.h"

#include <algorithm>

namespace samsa::raft {
namespace {

// Kafka forgets an observer that has not fetched for this long.
constexpr int64_t kObserverSessionTimeoutMs = 300'000;

}  // namespace

LeaderState::LeaderState(NodeId self, Epoch epoch, Offset epoch_start_offset, const std::vector<NodeId>& voters,
                         int64_t now_ms)
    : self_(self), epoch_(epoch), epoch_start_offset_(epoch_start_offset), elected_ms_(now_ms) {
  for (NodeId v : voters) voters_[v] = Progress{};
  voters_[self_].last_fetch_ms = now_ms;
}

LeaderState::Progress* LeaderState::find(NodeId replica) {
  if (auto it = voters_.find(replica); it != voters_.end()) return &it->second;
  if (auto it = observers_.find(replica); it != observers_.end()) return &it->second;
  return nullptr;
}

const LeaderState::Progress* LeaderState::find(NodeId replica) const {
  return const_cast<LeaderState*>(this)->find(replica);
}

void LeaderState::update_local(Offset flushed_end) {
  auto& p = voters_[self_];
  p.end_offset = std::max(p.end_offset, flushed_end);
}

void LeaderState::update_replica(NodeId replica, Offset fetch_offset, int64_t now_ms, Offset leader_end) {
  if (replica == self_ || replica == kNoNode) return;
  Progress* p = find(replica);
  if (p == nullptr) p = &observers_[replica];
  // A fetch offset may move backwards after the replica truncated; Kafka
  // tracks the latest, and so does this (the HW itself never goes back).
  p->end_offset = fetch_offset;
  // Caught up now if it holds the leader's whole log; caught up as of its
  // previous fetch if it now holds what the leader had then.
  if (fetch_offset >= leader_end) {
    p->last_caught_up_ms = std::max(p->last_caught_up_ms, now_ms);
  } else if (p->leader_end_at_last_fetch > 0 && fetch_offset >= p->leader_end_at_last_fetch) {
    p->last_caught_up_ms = std::max(p->last_caught_up_ms, p->last_fetch_ms);
  }
  p->last_fetch_ms = std::max(p->last_fetch_ms, now_ms);
  p->leader_end_at_last_fetch = leader_end;
}

void LeaderState::touch(NodeId replica, int64_t now_ms) {
  if (replica == self_ || replica == kNoNode) return;
  Progress* p = find(replica);
  if (p == nullptr) p = &observers_[replica];
  p->last_fetch_ms = std::max(p->last_fetch_ms, now_ms);
}

void LeaderState::sent_high_watermark(NodeId replica, Offset hw) {
  if (Progress* p = find(replica)) p->hw_sent = std::max(p->hw_sent, hw);
}

bool LeaderState::behind_high_watermark(NodeId replica, Offset hw) const {
  const Progress* p = find(replica);
  return p == nullptr || p->hw_sent < hw;
}

std::optional<Offset> LeaderState::high_watermark() const {
  std::vector<Offset> ends;
  for (const auto& [id, p] : voters_) ends.push_back(p.end_offset);
  std::sort(ends.begin(), ends.end(), std::greater<>());
  Offset majority_end = ends[voters_.size() / 2];
  // Only an entry of the current epoch can be committed by counting replicas.
  if (majority_end <= epoch_start_offset_) return std::nullopt;
  return majority_end;
}

bool LeaderState::has_quorum(int64_t now_ms, int64_t fetch_timeout_ms) const {
  if (now_ms - elected_ms_ < fetch_timeout_ms) return true;
  size_t recent = 0;
  for (const auto& [id, p] : voters_)
    if (id == self_ || (p.last_fetch_ms >= 0 && now_ms - p.last_fetch_ms <= fetch_timeout_ms)) ++recent;
  return recent >= voters_.size() / 2 + 1;
}

bool LeaderState::fetched_within(NodeId voter, int64_t now_ms, int64_t window_ms) const {
  auto it = voters_.find(voter);
  return it != voters_.end() && voter != self_ && it->second.last_fetch_ms >= 0 &&
         now_ms - it->second.last_fetch_ms < window_ms;
}

void LeaderState::set_voters(const std::vector<NodeId>& voters) {
  std::map<NodeId, Progress> next;
  for (NodeId v : voters) {
    if (auto it = voters_.find(v); it != voters_.end()) next[v] = it->second;
    else if (auto ob = observers_.find(v); ob != observers_.end()) next[v] = ob->second;
    else next[v] = Progress{};
  }
  for (auto& [id, p] : voters_)
    if (!next.contains(id)) observers_[id] = p;
  for (NodeId v : voters) observers_.erase(v);
  voters_ = std::move(next);
}

int64_t LeaderState::last_caught_up_ms(NodeId replica) const {
  const Progress* p = find(replica);
  return p == nullptr ? -1 : p->last_caught_up_ms;
}

void LeaderState::describe(int64_t now_ms, Offset leader_end, const std::vector<NodeId>& voters,
                           QuorumInfo& out) const {
  auto state_of = [](NodeId id, const Progress& p) {
    return ReplicaState{id, p.end_offset, p.last_fetch_ms, p.last_caught_up_ms};
  };
  for (NodeId v : voters) {
    if (v == self_) {
      out.current_voters.push_back(ReplicaState{v, leader_end, now_ms, now_ms});
    } else if (const Progress* p = find(v)) {
      out.current_voters.push_back(state_of(v, *p));
    } else {
      out.current_voters.push_back(ReplicaState{v, -1, -1, -1});
    }
  }
  for (const auto& [id, p] : observers_)
    if (now_ms - p.last_fetch_ms <= kObserverSessionTimeoutMs) out.observers.push_back(state_of(id, p));
}

}  // namespace samsa::raft
