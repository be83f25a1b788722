// RaftClient: snapshots (KIP-630). Every node snapshots its own committed
// state and trims its log below it; a fetcher below the leader's log start
// is told the leader's snapshot id and fetches it in chunks (FetchSnapshot),
// then resets its log to it and fetches on from its offset.
#include <algorithm>

#include "samsa/raft/consensus/raft_client.h"

namespace samsa::raft {

bool RaftClient::create_snapshot(OffsetAndEpoch id, std::string content) {
  if (id.offset > high_watermark_ || id.offset <= log_.start_offset()) return false;
  if (auto latest = log_.latest_snapshot(); latest && latest->offset >= id.offset) return false;
  // The entry ending at id.offset must be of epoch id.epoch: that is what a
  // fetcher's (offset, last epoch) is validated against. It is iff epoch
  // id.epoch reaches id.offset and the epochs before it end below.
  OffsetAndEpoch end_of_epoch = log_.end_offset_for_epoch(id.epoch);
  if (end_of_epoch.epoch != id.epoch || end_of_epoch.offset < id.offset) return false;
  if (log_.end_offset_for_epoch(id.epoch - 1).offset >= id.offset) return false;
  log_.store_snapshot(id, std::move(content));
  log_.trim_to_snapshot();
  return true;
}

std::optional<OffsetAndEpoch> RaftClient::take_loaded_snapshot() {
  auto id = loaded_snapshot_;
  loaded_snapshot_.reset();
  return id;
}

void RaftClient::send_fetch_snapshot(NodeId to) {
  auto& f = std::get<FollowerState>(state_);
  FetchSnapshotRequest r{election_.epoch, config_.node_id, f.snapshot->id,
                         static_cast<int64_t>(f.snapshot->bytes.size()), config_.fetch_snapshot_max_bytes};
  int64_t id = send_request(to, r, InFlight::kFetchSnapshot);
  f.fetch_sent_ms = time_.now_ms();
  f.fetch_correlation = id;
}

void RaftClient::on_fetch_snapshot_request(const RaftMessage& m, const FetchSnapshotRequest& r) {
  FetchSnapshotResponse resp;
  resp.leader_epoch = election_.epoch;
  resp.leader_id = election_.leader_id;
  resp.snapshot_id = r.snapshot_id;
  auto* leader = std::get_if<std::unique_ptr<LeaderState>>(&state_);
  if (leader == nullptr || r.current_leader_epoch != election_.epoch) {
    resp.error = r.current_leader_epoch < election_.epoch   ? RaftError::kFencedLeaderEpoch
                 : r.current_leader_epoch > election_.epoch ? RaftError::kUnknownLeaderEpoch
                                                            : RaftError::kNotLeaderOrFollower;
    return respond(m, std::move(resp));
  }
  // A fetcher busy with a snapshot is alive: it counts for check-quorum.
  (*leader)->touch(m.from, time_.now_ms());
  std::optional<std::string> content = log_.read_snapshot(r.snapshot_id);
  if (!content) {
    resp.error = RaftError::kSnapshotNotFound;  // replaced by a newer one: fetch again
    return respond(m, std::move(resp));
  }
  auto size = static_cast<int64_t>(content->size());
  if (r.position < 0 || r.position > size) {
    resp.error = RaftError::kPositionOutOfRange;
    return respond(m, std::move(resp));
  }
  int64_t len = std::min<int64_t>(size - r.position, std::max<int32_t>(r.max_bytes, 1));
  resp.size = size;
  resp.position = r.position;
  resp.bytes = content->substr(static_cast<size_t>(r.position), static_cast<size_t>(len));
  respond(m, std::move(resp));
}

void RaftClient::on_fetch_snapshot_response(const RaftMessage& m, const FetchSnapshotResponse& r) {
  auto inflight = take_in_flight(m);
  if (!inflight || inflight->kind != InFlight::kFetchSnapshot) return;
  int64_t now = time_.now_ms();
  auto* f = std::get_if<FollowerState>(&state_);
  bool from_leader = f && f->snapshot && m.from == election_.leader_id && inflight->epoch == election_.epoch &&
                     m.correlation_id == f->fetch_correlation;
  if (from_leader) f->fetch_sent_ms = -1;
  if (!from_leader || r.error == RaftError::kFencedLeaderEpoch || r.error == RaftError::kUnknownLeaderEpoch ||
      r.error == RaftError::kNotLeaderOrFollower) {
    observe_leader(r.leader_epoch, r.leader_id);
    if (auto* now_f = std::get_if<FollowerState>(&state_); now_f && now_f->fetch_sent_ms < 0)
      now_f->next_fetch_ms = std::max(now_f->next_fetch_ms, now + config_.retry_backoff_ms);
    return;
  }
  f->fetch_deadline_ms = now + config_.fetch_timeout_ms;
  f->last_fetch_ok_ms = now;
  f->fetch_failures = 0;
  f->next_fetch_ms = now;
  SnapshotFetch& s = *f->snapshot;
  if (r.error == RaftError::kSnapshotNotFound || !(r.snapshot_id == s.id)) {
    f->snapshot.reset();  // the leader moved on to a newer snapshot: Fetch tells which
    return;
  }
  if (r.error != RaftError::kNone || r.position != static_cast<int64_t>(s.bytes.size()) ||
      r.size < r.position + static_cast<int64_t>(r.bytes.size())) {
    s.bytes.clear();  // out of step: start over
    return;
  }
  s.bytes += r.bytes;
  if (static_cast<int64_t>(s.bytes.size()) < r.size) return;
  // Complete: it replaces our log. Stored durably first, so a crash leaves
  // either the old log or the snapshot, never neither.
  OffsetAndEpoch id = s.id;
  log_.store_snapshot(id, std::move(s.bytes));
  f->snapshot.reset();
  log_.reset_to_snapshot(id);
  voters_reset(id);
  // A snapshot holds only committed state, so its offset is committed.
  advance_high_watermark(id.offset);
  loaded_snapshot_ = id;
}

}  // namespace samsa::raft
