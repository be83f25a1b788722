// RaftClient: pull replication. The leader answers Fetch (validating the
// fetcher's log against its epoch history, KIP-595 / Fetch v12+ DivergingEpoch),
// counts voters' fetch offsets toward the high watermark and resigns when a
// majority stops fetching (check-quorum). Followers and observers fetch,
// truncate on divergence and append.
#include <algorithm>

#include "samsa/raft/consensus/raft_client.h"

namespace samsa::raft {

void RaftClient::poll_leader() {
  auto& leader = *std::get<std::unique_ptr<LeaderState>>(state_);
  int64_t now = time_.now_ms();
  log_.flush();
  advance_leader_high_watermark();
  if (!leader.has_quorum(now, config_.fetch_timeout_ms)) {
    become_resigned();
    poll_election();
    return;
  }
  // BeginQuorumEpoch to each voter that has not fetched lately (as Kafka's
  // leader does every fetch.timeout/2): a new voter learns the leader, and a
  // voter stuck in a higher epoch (it bumped its epoch, then lost the
  // election) answers with that epoch, which makes this leader step down so
  // the quorum can form again in the higher epoch.
  for (NodeId v : config_.voters) {
    if (v == config_.node_id || leader.fetched_within(v, now, config_.fetch_timeout_ms / 2)) continue;
    auto& sent = leader.begin_epoch_sent_ms();
    auto it = sent.find(v);
    if (it != sent.end() && now - it->second < config_.retry_backoff_ms * 5) continue;
    sent[v] = now;
    send_request(v, BeginQuorumEpochRequest{election_.epoch, config_.node_id}, InFlight::kQuorumEpoch);
  }
}

void RaftClient::poll_follower() {
  auto& f = std::get<FollowerState>(state_);
  int64_t now = time_.now_ms();
  if (now >= f.fetch_deadline_ms) {
    if (is_voter()) become_prospective();
    else become_unattached(election_.epoch, kNoNode);  // observers look for the leader again
    return;
  }
  if (f.fetch_sent_ms >= 0 && now - f.fetch_sent_ms < config_.request_timeout_ms) return;
  if (now < f.next_fetch_ms) return;
  if (f.snapshot) send_fetch_snapshot(election_.leader_id);
  else send_fetch(election_.leader_id);
}

void RaftClient::poll_unattached_observer() {
  auto& u = std::get<UnattachedState>(state_);
  int64_t now = time_.now_ms();
  // KIP-853: with no voter known yet, the bootstrap servers are asked.
  const std::vector<NodeId>& targets = config_.voters.empty() ? config_.bootstrap_ids : config_.voters;
  if (now < u.next_discovery_ms || targets.empty()) return;
  u.next_discovery_ms = now + config_.retry_backoff_ms * 5;
  // Any voter's answer names the leader (or proves ours is stale).
  send_fetch(targets[random_.next(static_cast<int64_t>(targets.size()))]);
}

void RaftClient::send_fetch(NodeId to) {
  FetchRequest r{election_.epoch, config_.node_id, log_.end_offset(), log_.last_fetched_epoch(),
                 config_.fetch_max_wait_ms};
  int64_t id = send_request(to, r, InFlight::kFetch);
  if (auto* f = std::get_if<FollowerState>(&state_)) {
    f->fetch_sent_ms = time_.now_ms();
    f->fetch_correlation = id;
  }
}

void RaftClient::advance_leader_high_watermark() {
  auto& leader = *std::get<std::unique_ptr<LeaderState>>(state_);
  leader.update_local(log_.flushed_offset());
  Offset before = high_watermark_;
  if (auto hw = leader.high_watermark()) advance_high_watermark(*hw);
  // Followers parked at their end offset learn the new high watermark now:
  // that is what lets them apply a commit one round trip after it.
  if (high_watermark_ != before) complete_parked_fetches();
}

std::optional<FetchResponse> RaftClient::reject_fetch(const FetchRequest& r) const {
  FetchResponse resp;
  resp.leader_epoch = election_.epoch;
  resp.leader_id = election_.leader_id;
  resp.high_watermark = high_watermark_;
  if (role() != Role::kLeader || r.current_leader_epoch != election_.epoch) {
    resp.error = r.current_leader_epoch < election_.epoch   ? RaftError::kFencedLeaderEpoch
                 : r.current_leader_epoch > election_.epoch ? RaftError::kUnknownLeaderEpoch
                                                            : RaftError::kNotLeaderOrFollower;
    return resp;
  }
  if (Offset start = log_.start_offset(); start > 0) {
    // Kafka's validateOffsetAndEpoch with a trimmed log: below our log start,
    // or diverging at or below it (where our entries are gone), the fetcher
    // needs the snapshot the log starts after. (Sending the snapshot where a
    // DivergingEpoch would also do is safe: it only replaces a committed
    // prefix by the same state.)
    OffsetAndEpoch ours = log_.end_offset_for_epoch(r.last_fetched_epoch);
    if (r.fetch_offset < start || ours.offset < start || (ours.offset == start && ours.epoch != r.last_fetched_epoch)) {
      resp.snapshot_id = log_.latest_snapshot();
      if (resp.snapshot_id) return resp;
    }
  }
  if (r.fetch_offset > 0 || r.last_fetched_epoch > 0) {
    OffsetAndEpoch ours = log_.end_offset_for_epoch(r.last_fetched_epoch);
    if (ours.epoch != r.last_fetched_epoch || ours.offset < r.fetch_offset) {
      // The fetcher's log diverges from ours after `ours`: it must truncate.
      resp.diverging_epoch = ours;
      return resp;
    }
  }
  return std::nullopt;
}

FetchResponse RaftClient::serve_fetch(NodeId from, const FetchRequest& r) {
  auto& leader = *std::get<std::unique_ptr<LeaderState>>(state_);
  FetchResponse resp;
  resp.leader_epoch = election_.epoch;
  resp.leader_id = election_.leader_id;
  resp.high_watermark = high_watermark_;
  resp.base_offset = r.fetch_offset;
  // The fetch offset is a batch boundary of our log: reject_fetch found the
  // fetcher's last epoch here ending at or after it, and every copy of that
  // epoch's batches lies at the same offsets (see on_fetch_response).
  resp.records = log_.read(r.fetch_offset, config_.fetch_max_entries);
  leader.sent_high_watermark(from, high_watermark_);
  return resp;
}

void RaftClient::on_fetch_request(const RaftMessage& m, const FetchRequest& r) {
  if (auto rejected = reject_fetch(r)) return respond(m, std::move(*rejected));
  auto& leader = *std::get<std::unique_ptr<LeaderState>>(state_);
  leader.update_replica(m.from, r.fetch_offset, time_.now_ms(), log_.end_offset());
  advance_leader_high_watermark();
  // Long-poll (Kafka's fetch purgatory): nothing to send and no high
  // watermark the fetcher has not been told: hold the fetch until there is,
  // or until its wait is over.
  if (r.max_wait_ms > 0 && r.fetch_offset >= log_.end_offset() &&
      !leader.behind_high_watermark(m.from, high_watermark_)) {
    // One parked fetch per fetcher: an older one (a retry overtook it) is
    // answered now, empty, so request and answer stay one to one.
    for (auto it = parked_fetches_.begin(); it != parked_fetches_.end(); ++it) {
      if (it->request.from != m.from) continue;
      ParkedFetch old = std::move(*it);
      parked_fetches_.erase(it);
      respond(old.request, serve_fetch(old.request.from, old.fetch));
      break;
    }
    parked_fetches_.push_back(ParkedFetch{m, r, time_.now_ms() + r.max_wait_ms});
    return;
  }
  respond(m, serve_fetch(m.from, r));
}

void RaftClient::complete_parked_fetches() {
  if (parked_fetches_.empty()) return;
  int64_t now = time_.now_ms();
  auto* leader = std::get_if<std::unique_ptr<LeaderState>>(&state_);
  std::vector<ParkedFetch> still;
  // Moved out first: answering may not re-enter, but keep the loop simple.
  std::vector<ParkedFetch> parked = std::move(parked_fetches_);
  parked_fetches_.clear();
  for (auto& p : parked) {
    if (auto rejected = reject_fetch(p.fetch)) {
      respond(p.request, std::move(*rejected));
    } else if (now >= p.deadline_ms || p.fetch.fetch_offset < log_.end_offset() ||
               (*leader)->behind_high_watermark(p.request.from, high_watermark_)) {
      respond(p.request, serve_fetch(p.request.from, p.fetch));
    } else {
      still.push_back(std::move(p));
    }
  }
  for (auto& p : parked_fetches_) still.push_back(std::move(p));
  parked_fetches_ = std::move(still);
}

void RaftClient::on_fetch_response(const RaftMessage& m, const FetchResponse& r) {
  auto inflight = take_in_flight(m);
  if (!inflight || inflight->kind != InFlight::kFetch) return;
  int64_t now = time_.now_ms();
  auto* f = std::get_if<FollowerState>(&state_);
  bool from_leader = f && m.from == election_.leader_id && inflight->epoch == election_.epoch &&
                     m.correlation_id == f->fetch_correlation;
  if (from_leader) f->fetch_sent_ms = -1;
  if (r.error != RaftError::kNone || !from_leader) {
    observe_leader(r.leader_epoch, r.leader_id);
    if (auto* now_f = std::get_if<FollowerState>(&state_); now_f && now_f->fetch_sent_ms < 0)
      now_f->next_fetch_ms = std::max(now_f->next_fetch_ms, now + config_.retry_backoff_ms);
    return;
  }
  f->fetch_deadline_ms = now + config_.fetch_timeout_ms;
  f->last_fetch_ok_ms = now;
  f->fetch_failures = 0;
  if (r.snapshot_id) {
    // Behind the leader's log start: fetch its snapshot from the start.
    f->snapshot = SnapshotFetch{*r.snapshot_id, {}};
    f->next_fetch_ms = now;
    return;
  }
  if (r.diverging_epoch) {
    // Kafka's truncateToEndOffset. The point is always a batch boundary of
    // our log: (a) if we hold the leader's epoch E, both our end of E and
    // the leader's are ends of a prefix of the one sequence of batches E's
    // leader wrote (every copy of an epoch-E batch comes from it, at the same
    // base offset, and logs only gain or lose whole batches), so the smaller
    // is a batch end in our log too; (b) if we do not, our own end of the
    // largest epoch below E is, by definition, the end of one of our batches.
    // (Taking the minimum in case (b) as well could cut one of our batches:
    // an old-epoch batch of ours may straddle the leader's end of E.)
    const OffsetAndEpoch& leader_end = *r.diverging_epoch;
    Offset to;
    if (leader_end.epoch == 0) {
      to = std::min(leader_end.offset, log_.end_offset());
    } else {
      OffsetAndEpoch local = log_.end_offset_for_epoch(leader_end.epoch);
      to = local.epoch == leader_end.epoch ? std::min(local.offset, leader_end.offset) : local.offset;
    }
    // Never below our own log start: what lies below is a snapshot of
    // committed entries, which the leader holds too. (Were it to differ, the
    // fetch from the start would be answered with the leader's snapshot.)
    Offset truncate_at = std::clamp(to, log_.start_offset(), log_.end_offset());
    log_.truncate_to(truncate_at);
    voters_truncated(truncate_at);
    f->next_fetch_ms = now;
    return;
  }
  if (!r.records.empty() && r.base_offset == log_.end_offset()) {
    log_.append_as_follower(r.records);
    voters_appended(r.base_offset, r.records);
    // Flushed before the next fetch reports the new end offset to the leader,
    // which counts it toward the high watermark.
    log_.flush();
  }
  advance_high_watermark(r.high_watermark);
  // An empty answer came after the leader's long-poll wait: fetch again.
  f->next_fetch_ms = r.records.empty() ? now + config_.fetch_idle_backoff_ms : now;
}

}  // namespace samsa::raft
