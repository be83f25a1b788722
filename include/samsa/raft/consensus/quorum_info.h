#pragma once
// What the leader knows of the quorum, for DescribeQuorum (KIP-595's
// DescribeQuorumResponse, as `kafka-metadata-quorum.sh describe --status /
// --replication` shows it). -1 stands for "unknown" everywhere.
#include <cstdint>
#include <vector>

#include "samsa/raft/consensus/raft_types.h"

namespace samsa::raft {

struct ReplicaState {
  NodeId replica_id = kNoNode;
  // The replica's log end offset as the leader last saw it (its fetch offset;
  // the leader's own log end offset for the leader).
  Offset log_end_offset = -1;
  // When the leader last received a Fetch from it (now, for the leader).
  int64_t last_fetch_timestamp = -1;
  // The last time it was known to hold everything the leader had: a fetch at
  // or past the leader's log end, or the time of its previous fetch when it
  // has since reached the leader's end offset as of that fetch (Kafka's rule).
  int64_t last_caught_up_timestamp = -1;
  bool operator==(const ReplicaState&) const = default;
};

struct QuorumInfo {
  NodeId leader_id = kNoNode;
  Epoch leader_epoch = 0;
  Offset high_watermark = -1;
  std::vector<ReplicaState> current_voters;  // in voter-set order, the leader included
  std::vector<ReplicaState> observers;       // fetched within the observer session timeout
};

}  // namespace samsa::raft
