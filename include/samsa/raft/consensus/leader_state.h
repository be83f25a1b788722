#pragma once
// The leader's view of its replicas: their fetch offsets (voters' count for
// the high watermark), when each last fetched (check-quorum), what each was
// last told of the high watermark (fetch long-poll) and when each was last
// caught up (DescribeQuorum). Observers are tracked too, but never counted.
#include <map>
#include <optional>
#include <vector>

#include "samsa/raft/consensus/quorum_info.h"
#include "samsa/raft/consensus/raft_types.h"

namespace samsa::raft {

class LeaderState {
 public:
  // `epoch_start_offset`: the leader's log end when it was elected. Entries
  // below it are from older epochs; Raft may only commit them indirectly, by
  // committing an entry of the current epoch.
  LeaderState(NodeId self, Epoch epoch, Offset epoch_start_offset, const std::vector<NodeId>& voters,
              int64_t now_ms);

  Epoch epoch() const { return epoch_; }
  Offset epoch_start_offset() const { return epoch_start_offset_; }

  // The leader's own flushed end offset.
  void update_local(Offset flushed_end);
  // A fetch from `replica` at `fetch_offset` (it holds everything below),
  // received when the leader's log ended at `leader_end`. Replicas not in
  // the voter set are observers.
  void update_replica(NodeId replica, Offset fetch_offset, int64_t now_ms, Offset leader_end);
  // A FetchSnapshot from `replica`: it is alive (check-quorum), no offset.
  void touch(NodeId replica, int64_t now_ms);
  // The high watermark a fetch response to `replica` carried.
  void sent_high_watermark(NodeId replica, Offset hw);
  // Whether `replica` was told a high watermark below `hw` (or none yet).
  bool behind_high_watermark(NodeId replica, Offset hw) const;

  // The offset a majority of voters hold, if it is in the current epoch.
  std::optional<Offset> high_watermark() const;

  // Check-quorum: true if a majority (counting the leader) fetched within
  // `fetch_timeout_ms` (or the leader has not been in office that long).
  bool has_quorum(int64_t now_ms, int64_t fetch_timeout_ms) const;

  // Whether `voter` fetched in this epoch within the last `window_ms`.
  bool fetched_within(NodeId voter, int64_t now_ms, int64_t window_ms) const;
  std::map<NodeId, int64_t>& begin_epoch_sent_ms() { return begin_epoch_sent_ms_; }

  // KIP-853: the voter set changed to `voters` (it always holds the leader).
  // Progress moves between voters and observers; only voters count.
  void set_voters(const std::vector<NodeId>& voters);
  // When `replica` last held the leader's whole log (-1: never in this epoch).
  int64_t last_caught_up_ms(NodeId replica) const;

  // Per-replica state for DescribeQuorum; the leader itself reports
  // `leader_end` fetched and caught up at `now_ms`.
  void describe(int64_t now_ms, Offset leader_end, const std::vector<NodeId>& voters, QuorumInfo& out) const;

 private:
  struct Progress {
    Offset end_offset = -1;  // -1: not fetched in this epoch
    int64_t last_fetch_ms = -1;
    int64_t last_caught_up_ms = -1;
    Offset leader_end_at_last_fetch = -1;
    Offset hw_sent = -1;
  };
  Progress* find(NodeId replica);
  const Progress* find(NodeId replica) const;

  NodeId self_;
  Epoch epoch_;
  Offset epoch_start_offset_;
  int64_t elected_ms_;
  std::map<NodeId, Progress> voters_;
  std::map<NodeId, Progress> observers_;
  std::map<NodeId, int64_t> begin_epoch_sent_ms_;
};

}  // namespace samsa::raft
