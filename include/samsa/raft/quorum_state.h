#pragma once
// The `quorum-state` file of a KRaft node, in Kafka's JSON layout
// (QuorumStateData, data_version 0):
//   {"clusterId":"","leaderId":1,"leaderEpoch":3,"votedId":-1,
//    "appliedOffset":0,"currentVoters":[{"voterId":1}],"data_version":0}
// It survives restarts so a node never reuses an epoch.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace samsa::raft {

struct QuorumState {
  int32_t leader_id = -1;
  int32_t leader_epoch = 0;
  int32_t voted_id = -1;
  std::vector<int32_t> voters;

  static constexpr const char* kFileName = "quorum-state";

  // nullopt if absent; std::runtime_error naming the file if unreadable.
  static std::optional<QuorumState> read(const std::string& dir);
  void write(const std::string& dir) const;  // atomically
};

}  // namespace samsa::raft
