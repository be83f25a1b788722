#pragma once
// QuorumStateStore over the `quorum-state` file (quorum_state.h, Kafka's JSON
// layout). Writes go through util::write_file_atomically, hence through the
// util::Env mounted on the directory (fault injection in tests).
// Threading: called only from the thread driving the RaftClient.
#include <string>
#include <vector>

#include "samsa/raft/consensus/raft_io.h"

namespace samsa::raft {

class FileQuorumStateStore final : public QuorumStateStore {
 public:
  // `voters` is written as currentVoters, as Kafka's static-quorum nodes do.
  FileQuorumStateStore(std::string dir, std::vector<NodeId> voters)
      : dir_(std::move(dir)), voters_(std::move(voters)) {}
  // std::runtime_error if the file exists but is not valid quorum state.
  std::optional<ElectionState> read() override;
  void write(const ElectionState& state) override;

 private:
  std::string dir_;
  std::vector<NodeId> voters_;
};

}  // namespace samsa::raft
