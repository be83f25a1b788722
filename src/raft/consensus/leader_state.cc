#include "samsa/raft/consensus/leader_state.h"

#include <algorithm>

namespace samsa::raft {

LeaderState::LeaderState(NodeId self, Epoch epoch, Offset epoch_start_offset, const std::vector<NodeId>& voters,
                         int64_t now_ms)
    : self_(self), epoch_(epoch), epoch_start_offset_(epoch_start_offset), elected_ms_(now_ms) {
  for (NodeId v : voters) voters_[v] = Progress{};
  voters_[self_].last_fetch_ms = now_ms;
}

void LeaderState::update_local(Offset flushed_end) {
  auto& p = voters_[self_];
  p.end_offset = std::max(p.end_offset, flushed_end);
}

void LeaderState::update_replica(NodeId replica, Offset fetch_offset, int64_t now_ms) {
  auto it = voters_.find(replica);
  if (it == voters_.end() || replica == self_) return;
  // A fetch offset may move backwards after the replica truncated; Kafka
  // tracks the latest, and so does this (the HW itself never goes back).
  it->second.end_offset = fetch_offset;
  it->second.last_fetch_ms = now_ms;
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

}  // namespace samsa::raft
