#include "samsa/raft/consensus/file_quorum_state_store.h"

#include "samsa/raft/quorum_state.h"

namespace samsa::raft {

std::optional<ElectionState> FileQuorumStateStore::read() {
  auto q = QuorumState::read(dir_);
  if (!q) return std::nullopt;
  return ElectionState{q->leader_epoch, q->leader_id, q->voted_id};
}

void FileQuorumStateStore::write(const ElectionState& s) {
  QuorumState q;
  q.leader_epoch = s.epoch;
  q.leader_id = s.leader_id;
  q.voted_id = s.voted_id;
  q.voters = voters_;
  q.write(dir_);
}

}  // namespace samsa::raft
