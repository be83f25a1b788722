#pragma once
// The leader's view of its voters: their fetch offsets (for the high
// watermark) and when each last fetched (for check-quorum).
#include <map>
#include <optional>
#include <vector>

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
  // A fetch from `replica` at `fetch_offset` (it holds everything below).
  // Observers are ignored for the high watermark.
  void update_replica(NodeId replica, Offset fetch_offset, int64_t now_ms);

  // The offset a majority of voters hold, if it is in the current epoch.
  std::optional<Offset> high_watermark() const;

  // Check-quorum: true if a majority (counting the leader) fetched within
  // `fetch_timeout_ms` (or the leader has not been in office that long).
  bool has_quorum(int64_t now_ms, int64_t fetch_timeout_ms) const;

  // Whether `voter` fetched in this epoch within the last `window_ms`.
  bool fetched_within(NodeId voter, int64_t now_ms, int64_t window_ms) const;
  std::map<NodeId, int64_t>& begin_epoch_sent_ms() { return begin_epoch_sent_ms_; }

 private:
  struct Progress {
    Offset end_offset = -1;  // -1: not fetched in this epoch
    int64_t last_fetch_ms = -1;
  };
  NodeId self_;
  Epoch epoch_;
  Offset epoch_start_offset_;
  int64_t elected_ms_;
  std::map<NodeId, Progress> voters_;
  std::map<NodeId, int64_t> begin_epoch_sent_ms_;
};

}  // namespace samsa::raft
