// RaftClient: construction, role transitions, the poll/handle dispatch.
#include "samsa/raft/consensus/raft_client.h"

#include <algorithm>

#include "samsa/raft/consensus/raft_wire.h"

namespace samsa::raft {

const char* role_name(Role r) {
  switch (r) {
    case Role::kUnattached: return "unattached";
    case Role::kProspective: return "prospective";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
    case Role::kFollower: return "follower";
    case Role::kResigned: return "resigned";
  }
  return "?";
}

RaftClient::RaftClient(RaftConfig config, Time& time, Random& random, NetworkChannel& network,
                       ReplicatedLog& log, QuorumStateStore& store)
    : config_(std::move(config)), time_(time), random_(random), network_(network), log_(log), store_(store) {
  std::optional<ElectionState> read = store_.read();
  ElectionState stored = read.value_or(ElectionState{});
  persisted_ = read.has_value();
  // The log can never be ahead of quorum-state in epochs (a node persists the
  // epoch before it appends in it), but a hand-copied log could be: trust the
  // larger one so an epoch is never reused.
  load_voter_history();
  Epoch epoch = std::max(stored.epoch, log_.last_fetched_epoch());
  election_ = stored;
  if (epoch != stored.epoch) {
    become_unattached(epoch, kNoNode);
  } else if (stored.leader_id == config_.node_id) {
    // Led this epoch before the restart: it cannot know what it acked, so it
    // steps down (Kafka's resigned state). A node no longer a voter just waits.
    if (is_voter()) become_resigned();
    else become_unattached(stored.epoch, kNoNode);
  } else if (stored.leader_id != kNoNode) {
    become_follower(stored.epoch, stored.leader_id);
  } else {
    become_unattached(stored.epoch, stored.voted_id);
  }
  // As Kafka: the only voter has nobody to wait for, so it stands at once
  // instead of after an election timeout (a one-node cluster starts fast).
  if (config_.voters.size() == 1 && is_voter() && role() != Role::kLeader) become_candidate();
}

Role RaftClient::role() const {
  switch (state_.index()) {
    case 0: return Role::kUnattached;
    case 1: return Role::kProspective;
    case 2: return Role::kCandidate;
    case 3: return Role::kFollower;
    case 4: return Role::kLeader;
    default: return Role::kResigned;
  }
}

void RaftClient::persist(const ElectionState& next) {
  if (next == election_ && persisted_) return;
  store_.write(next);
  election_ = next;
  persisted_ = true;
}

int64_t RaftClient::random_election_deadline() {
  return time_.now_ms() + config_.election_timeout_ms + random_.next(config_.election_timeout_ms);
}

void RaftClient::become_unattached(Epoch epoch, NodeId voted_id) {
  persist(ElectionState{epoch, kNoNode, voted_id});
  UnattachedState s;
  s.election_deadline_ms = random_election_deadline();
  s.next_discovery_ms = time_.now_ms();
  state_ = s;
}

void RaftClient::become_prospective() {
  // Keeps epoch and vote: a pre-vote changes nothing durable.
  ProspectiveState s;
  s.election_deadline_ms = random_election_deadline();
  s.granted.insert(config_.node_id);
  state_ = std::move(s);
  poll_election();
}

void RaftClient::become_candidate() {
  persist(ElectionState{election_.epoch + 1, kNoNode, config_.node_id});
  CandidateState s;
  s.election_deadline_ms = random_election_deadline();
  s.granted.insert(config_.node_id);
  state_ = std::move(s);
  poll_election();
}

void RaftClient::become_leader() {
  std::vector<NodeId> granting;
  if (auto* c = std::get_if<CandidateState>(&state_)) granting.assign(c->granted.begin(), c->granted.end());
  persist(ElectionState{election_.epoch, config_.node_id, config_.node_id});
  auto leader = std::make_unique<LeaderState>(config_.node_id, election_.epoch, log_.end_offset(),
                                              config_.voters, time_.now_ms());
  state_ = std::move(leader);
  // Kafka's LeaderChange control record: the first entry of the epoch, so the
  // epoch can commit (and with it everything before) without client writes.
  // Its value is Kafka's LeaderChangeMessage, so the log on disk and the
  // Fetch wire carry what Kafka's tools expect.
  Entry change{0, true, kLeaderChangeControlType,
               {wire::encode_leader_change(config_.node_id, config_.voters, granting)}};
  log_.append_as_leader({std::move(change)}, election_.epoch);
  poll_leader();
}

void RaftClient::become_follower(Epoch epoch, NodeId leader) {
  NodeId voted = epoch == election_.epoch ? election_.voted_id : kNoNode;
  persist(ElectionState{epoch, leader, voted});
  FollowerState s;
  s.fetch_deadline_ms = time_.now_ms() + config_.fetch_timeout_ms;
  s.next_fetch_ms = time_.now_ms();
  state_ = s;
}

void RaftClient::become_resigned() {
  ResignedState s;
  s.election_deadline_ms = random_election_deadline();
  state_ = std::move(s);
}

void RaftClient::observe_leader(Epoch epoch, NodeId leader) {
  if (epoch < election_.epoch) return;
  if (epoch > election_.epoch) {
    if (leader != kNoNode && leader != config_.node_id) become_follower(epoch, leader);
    else become_unattached(epoch, kNoNode);
    return;
  }
  // Same epoch: learn the leader if we did not know it, or go back to a
  // leader we had given up on (a prospective whose pre-vote was refused).
  if (leader == kNoNode || leader == config_.node_id) return;
  if (election_.leader_id != kNoNode && election_.leader_id != leader) return;
  Role r = role();
  if (r == Role::kUnattached || r == Role::kProspective || r == Role::kCandidate) become_follower(epoch, leader);
}

void RaftClient::advance_high_watermark(Offset hw) {
  high_watermark_ = std::max(high_watermark_, std::min(hw, log_.end_offset()));
}

int64_t RaftClient::send_request(NodeId to, RaftPayload payload, InFlight::Kind kind) {
  int64_t id = next_correlation_++;
  in_flight_[id] = InFlight{kind, election_.epoch, time_.now_ms()};
  network_.send(RaftMessage{config_.node_id, to, id, std::move(payload)});
  return id;
}

void RaftClient::respond(const RaftMessage& request, RaftPayload payload) {
  network_.send(RaftMessage{config_.node_id, request.from, request.correlation_id, std::move(payload)});
}

std::optional<RaftClient::InFlight> RaftClient::take_in_flight(const RaftMessage& response) {
  auto it = in_flight_.find(response.correlation_id);
  if (it == in_flight_.end()) return std::nullopt;
  InFlight f = it->second;
  in_flight_.erase(it);
  if (time_.now_ms() - f.sent_ms > config_.request_timeout_ms) return std::nullopt;
  return f;
}

void RaftClient::poll() {
  int64_t now = time_.now_ms();
  std::erase_if(in_flight_, [&](const auto& kv) { return now - kv.second.sent_ms > config_.request_timeout_ms; });
  switch (role()) {
    case Role::kLeader: poll_leader(); break;
    case Role::kFollower: poll_follower(); break;
    case Role::kUnattached:
      if (is_voter()) poll_election();
      else poll_unattached_observer();
      break;
    default: poll_election(); break;
  }
  complete_parked_fetches();
}

void RaftClient::handle(const RaftMessage& m) {
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, VoteRequest>) on_vote_request(m, p);
        else if constexpr (std::is_same_v<T, VoteResponse>) on_vote_response(m, p);
        else if constexpr (std::is_same_v<T, BeginQuorumEpochRequest>) on_begin_quorum_epoch(m, p);
        else if constexpr (std::is_same_v<T, EndQuorumEpochRequest>) on_end_quorum_epoch(m, p);
        else if constexpr (std::is_same_v<T, QuorumEpochResponse>) on_quorum_epoch_response(m, p);
        else if constexpr (std::is_same_v<T, FetchRequest>) on_fetch_request(m, p);
        else if constexpr (std::is_same_v<T, FetchResponse>) on_fetch_response(m, p);
        else if constexpr (std::is_same_v<T, FetchSnapshotRequest>) on_fetch_snapshot_request(m, p);
        else if constexpr (std::is_same_v<T, FetchSnapshotResponse>) on_fetch_snapshot_response(m, p);
      },
      m.payload);
  // A message may have cost the leadership: parked fetches learn it now.
  if (!parked_fetches_.empty() && role() != Role::kLeader) complete_parked_fetches();
}

std::optional<Offset> RaftClient::append(std::vector<std::string> records) {
  if (role() != Role::kLeader || records.empty()) return std::nullopt;
  Offset base = log_.append_as_leader({Entry{0, false, 0, std::move(records)}}, election_.epoch);
  complete_parked_fetches();  // followers waiting at the old end get it now
  return base;
}

std::optional<QuorumInfo> RaftClient::quorum_info() const {
  const auto* leader = std::get_if<std::unique_ptr<LeaderState>>(&state_);
  if (leader == nullptr) return std::nullopt;
  QuorumInfo info;
  info.leader_id = config_.node_id;
  info.leader_epoch = election_.epoch;
  info.high_watermark = high_watermark_;
  (*leader)->describe(time_.now_ms(), log_.end_offset(), config_.voters, info);
  return info;
}

}  // namespace samsa::raft
