// RaftClient: pre-vote, vote, BeginQuorumEpoch and EndQuorumEpoch.
#include <algorithm>

#include "samsa/raft/consensus/raft_client.h"

namespace samsa::raft {

bool RaftClient::candidate_log_ok(Epoch last_epoch, Offset end) const {
  Epoch mine = log_.last_fetched_epoch();
  return last_epoch > mine || (last_epoch == mine && end >= log_.end_offset());
}

void RaftClient::poll_election() {
  int64_t now = time_.now_ms();
  if (auto* u = std::get_if<UnattachedState>(&state_)) {
    if (now >= u->election_deadline_ms) become_prospective();
    return;
  }
  if (auto* r = std::get_if<ResignedState>(&state_)) {
    if (now >= r->election_deadline_ms) {
      become_prospective();
      return;
    }
    for (NodeId v : config_.voters) {
      if (v == config_.node_id || r->acked.contains(v)) continue;
      auto it = r->last_sent_ms.find(v);
      if (it != r->last_sent_ms.end() && now - it->second < config_.retry_backoff_ms) continue;
      r->last_sent_ms[v] = now;
      send_request(v, EndQuorumEpochRequest{election_.epoch, config_.node_id, {}}, InFlight::kQuorumEpoch);
    }
    return;
  }
  if (auto* p = std::get_if<ProspectiveState>(&state_)) {
    if (p->granted.size() >= config_.majority()) {
      become_candidate();
      return;
    }
    if (now >= p->election_deadline_ms) {
      become_prospective();  // a new round with a new random timeout
      return;
    }
    VoteRequest req{election_.epoch + 1, config_.node_id, log_.last_fetched_epoch(), log_.end_offset(), true};
    for (NodeId v : config_.voters) {
      if (p->granted.contains(v) || p->rejected.contains(v)) continue;
      auto it = p->last_sent_ms.find(v);
      if (it != p->last_sent_ms.end() && now - it->second < config_.retry_backoff_ms) continue;
      p->last_sent_ms[v] = now;
      send_request(v, req, InFlight::kPreVote);
    }
    return;
  }
  if (auto* c = std::get_if<CandidateState>(&state_)) {
    if (c->granted.size() >= config_.majority()) {
      become_leader();
      return;
    }
    if (now >= c->election_deadline_ms) {
      become_prospective();  // KIP-996: a candidate that times out pre-votes again
      return;
    }
    if (c->backing_off) return;
    if (c->rejected.size() > config_.voters.size() - config_.majority()) {
      c->backing_off = true;  // lost: back off before trying again
      c->election_deadline_ms = now + random_.next(config_.election_backoff_max_ms) + 1;
      return;
    }
    VoteRequest req{election_.epoch, config_.node_id, log_.last_fetched_epoch(), log_.end_offset(), false};
    for (NodeId v : config_.voters) {
      if (c->granted.contains(v) || c->rejected.contains(v)) continue;
      auto it = c->last_sent_ms.find(v);
      if (it != c->last_sent_ms.end() && now - it->second < config_.retry_backoff_ms) continue;
      c->last_sent_ms[v] = now;
      send_request(v, req, InFlight::kVote);
    }
  }
}

void RaftClient::on_vote_request(const RaftMessage& m, const VoteRequest& r) {
  auto reply = [&](bool granted) {
    respond(m, VoteResponse{RaftError::kNone, election_.epoch, election_.leader_id, granted});
  };
  // KIP-853: a node that does not see itself as a voter still answers (it
  // may not have the Voters record that added it yet); a candidate counts
  // only the votes of its own voter set, so this cannot make two leaders.
  bool may_vote = is_voter() || config_.kraft_version >= 1;
  if (!may_vote || r.candidate_epoch < election_.epoch) return reply(false);
  bool log_ok = candidate_log_ok(r.last_offset_epoch, r.last_offset);
  if (r.pre_vote) {
    // Refuse while we still hear from a leader (KIP-996): this is what keeps a
    // node that was partitioned away from unseating a healthy leader.
    bool leader_alive = role() == Role::kLeader;
    // "Hearing" means a successful fetch, not merely being a follower: a node
    // that went back to following after a refused pre-vote must not keep
    // refusing on behalf of a leader nobody reaches.
    if (auto* f = std::get_if<FollowerState>(&state_))
      leader_alive = follower_vouches(*f);
    return reply(log_ok && !leader_alive);
  }
  if (r.candidate_epoch > election_.epoch) become_unattached(r.candidate_epoch, kNoNode);
  bool grant;
  if (election_.leader_id != kNoNode) grant = false;
  else if (election_.voted_id == r.candidate_id) grant = true;
  else if (election_.voted_id != kNoNode) grant = config_.test_only_grant_multiple_votes && log_ok;
  else grant = log_ok;
  if (grant && election_.voted_id != r.candidate_id) {
    // Durable before the answer leaves: a restarted voter must not vote twice.
    persist(ElectionState{election_.epoch, kNoNode, r.candidate_id});
    if (auto* u = std::get_if<UnattachedState>(&state_)) u->election_deadline_ms = random_election_deadline();
  }
  reply(grant);
}

void RaftClient::on_vote_response(const RaftMessage& m, const VoteResponse& r) {
  auto f = take_in_flight(m);
  if (!f || (f->kind != InFlight::kVote && f->kind != InFlight::kPreVote)) return;
  // A refusal that names this epoch's leader means the voter still hears
  // from it: follow it again. A grant that names it only says the voter knew
  // of it (and, for a pre-vote, that it no longer hears from it).
  if (r.leader_epoch > election_.epoch ||
      (r.leader_epoch == election_.epoch && r.leader_id != kNoNode && !r.vote_granted)) {
    observe_leader(r.leader_epoch, r.leader_id);
    if (r.leader_epoch > f->epoch) return;
  }
  if (f->epoch != election_.epoch) return;
  if (f->kind == InFlight::kPreVote) {
    auto* p = std::get_if<ProspectiveState>(&state_);
    if (!p) return;
    (r.vote_granted ? p->granted : p->rejected).insert(m.from);
  } else {
    auto* c = std::get_if<CandidateState>(&state_);
    if (!c) return;
    (r.vote_granted ? c->granted : c->rejected).insert(m.from);
  }
  poll_election();
}

void RaftClient::on_begin_quorum_epoch(const RaftMessage& m, const BeginQuorumEpochRequest& r) {
  if (r.leader_epoch >= election_.epoch) observe_leader(r.leader_epoch, r.leader_id);
  RaftError err = r.leader_epoch < election_.epoch ? RaftError::kFencedLeaderEpoch : RaftError::kNone;
  respond(m, QuorumEpochResponse{err, election_.epoch, election_.leader_id});
}

void RaftClient::on_end_quorum_epoch(const RaftMessage& m, const EndQuorumEpochRequest& r) {
  if (r.leader_epoch > election_.epoch) observe_leader(r.leader_epoch, kNoNode);
  if (r.leader_epoch == election_.epoch && r.leader_id == election_.leader_id) {
    // The leader resigned: start an election soon instead of waiting out the
    // fetch timeout (randomized so voters do not all start at once).
    if (auto* f = std::get_if<FollowerState>(&state_))
      f->fetch_deadline_ms =
          std::min(f->fetch_deadline_ms, time_.now_ms() + random_.next(config_.election_backoff_max_ms) + 1);
  }
  RaftError err = r.leader_epoch < election_.epoch ? RaftError::kFencedLeaderEpoch : RaftError::kNone;
  respond(m, QuorumEpochResponse{err, election_.epoch, election_.leader_id});
}

void RaftClient::on_quorum_epoch_response(const RaftMessage& m, const QuorumEpochResponse& r) {
  auto f = take_in_flight(m);
  if (!f || f->kind != InFlight::kQuorumEpoch) return;
  if (r.leader_epoch > election_.epoch) {
    observe_leader(r.leader_epoch, r.leader_id);
    return;
  }
  if (auto* s = std::get_if<ResignedState>(&state_); s && f->epoch == election_.epoch) s->acked.insert(m.from);
}

}  // namespace samsa::raft
