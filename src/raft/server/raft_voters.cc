// KIP-853 in the server: AddRaftVoter / RemoveRaftVoter on the leader's Raft
// thread, completed when the Voters record commits, and the endpoints of
// voters that joined through the log.
#include <algorithm>

#include "raft_network.h"
#include "samsa/raft/consensus/raft_client.h"
#include "samsa/raft/server/raft_manager.h"
#include "samsa/raft/server/raft_rpc.h"
#include "samsa/util/logging.h"

#include <fmt/ranges.h>

namespace samsa::raft {

using protocol::ErrorCode;

void RaftNetwork::learn_endpoints(const std::vector<Voter>& voters, const std::string& listener) {
  for (const Voter& v : voters) {
    if (v.voter_id == self_ || v.endpoints.empty()) continue;
    const auto* e = &v.endpoints.front();
    for (const auto& candidate : v.endpoints)
      if (candidate.name == listener) e = &candidate;
    learn_endpoint(v.voter_id, net::Endpoint{e->host, e->port});
  }
}

std::map<NodeId, net::Endpoint> RaftManager::voter_endpoints() const {
  std::lock_guard lock(endpoints_mu_);
  return dynamic_endpoints_ ? *dynamic_endpoints_ : options_.voter_endpoints;
}

void RaftManager::add_voter(Voter voter, int64_t timeout_ms, VoterChangeDone done) {
  post([this, voter = std::move(voter), timeout_ms, done = std::move(done)]() mutable {
    start_voter_change([&](RaftClient& c) { return c.add_voter(voter); }, timeout_ms, std::move(done));
  });
}

void RaftManager::remove_voter(NodeId id, int64_t timeout_ms, VoterChangeDone done) {
  post([this, id, timeout_ms, done = std::move(done)]() mutable {
    start_voter_change([&](RaftClient& c) { return c.remove_voter(id); }, timeout_ms, std::move(done));
  });
}

void RaftManager::update_voter(Voter voter, Epoch request_epoch, VoterChangeDone done) {
  post([this, voter = std::move(voter), request_epoch, done = std::move(done)]() mutable {
    RaftClient::VoterChange change = client_->update_voter(voter, request_epoch);
    // Answered once appended, not committed (as Kafka does): the voter asks
    // on the connection it fetches on, so waiting for its next fetch to
    // commit the record would wait for itself. It retries until the set it
    // replicates names it right.
    done(change.error);
  });
}

void RaftManager::start_voter_change(const std::function<RaftClient::VoterChange(RaftClient&)>& op,
                                     int64_t timeout_ms, VoterChangeDone done) {
  RaftClient::VoterChange change = op(*client_);
  if (change.error != ErrorCode::NONE) return done(change.error);
  samsa::logger("samsa.raft.RaftManager")->info("Node {} appended a voter set change (voters {}), in force from offset {}",
                             options_.raft.node_id, fmt::join(client_->config().voters, ","), change.offset - 1);
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch()).count();
  pending_voter_changes_.push_back(PendingVoterChange{change.offset, client_->epoch(), now + timeout_ms,
                                                      std::move(done)});
  poll_voter_changes();
}

void RaftManager::poll_voter_changes() {
  // Any change of the set in force (ids, or a voter's endpoints after
  // UpdateRaftVoter) refreshes where the voters are.
  if (client_->voters() != known_voters_) {
    known_voters_ = client_->voters();
    network_->learn_endpoints(client_->voters(), options_.controller_listener_name);
    if (options_.raft.kraft_version >= 1) {
      std::map<NodeId, net::Endpoint> endpoints;
      for (const Voter& v : client_->voters()) {
        if (auto it = options_.voter_endpoints.find(v.voter_id); it != options_.voter_endpoints.end())
          endpoints[v.voter_id] = it->second;
        const auto* e = v.endpoints.empty() ? nullptr : &v.endpoints.front();
        for (const auto& candidate : v.endpoints)
          if (candidate.name == options_.controller_listener_name) e = &candidate;
        if (e != nullptr) endpoints[v.voter_id] = net::Endpoint{e->host, e->port};
      }
      std::lock_guard lock(endpoints_mu_);
      dynamic_endpoints_ = std::move(endpoints);
    }
  }
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch()).count();
  maybe_update_self(now);
  if (pending_voter_changes_.empty()) return;
  bool leading = client_->role() == Role::kLeader;
  std::vector<PendingVoterChange> still;
  for (auto& p : pending_voter_changes_) {
    if (client_->high_watermark() >= p.offset && client_->epoch() == p.epoch) p.done(ErrorCode::NONE);
    else if (!leading || client_->epoch() != p.epoch) p.done(ErrorCode::NOT_LEADER_OR_FOLLOWER);
    else if (now >= p.deadline_ms) p.done(ErrorCode::REQUEST_TIMED_OUT);
    else still.push_back(std::move(p));
  }
  pending_voter_changes_ = std::move(still);
}

void RaftManager::maybe_update_self(int64_t now_ms) {
  if (options_.raft.kraft_version < 1 || !options_.self_voter || self_update_in_flight_ ||
      now_ms < next_self_update_ms_)
    return;
  const Voter& self = *options_.self_voter;
  const auto& voters = client_->voters();
  auto it = std::find_if(voters.begin(), voters.end(), [&](const Voter& v) { return v.voter_id == self.voter_id; });
  // Only the voter the set names (same directory) updates itself; another
  // directory is a different replica, which joins with AddRaftVoter.
  if (it == voters.end() || it->voter_directory_id != self.voter_directory_id) return;
  if (it->endpoints == self.endpoints && it->kraft_version_feature == self.kraft_version_feature) {
    self_update_backoff_ms_ = 0;
    return;
  }
  NodeId leader = client_->leader_id();
  if (leader == kNoNode) return;
  // Until the update is committed and here (or it failed), wait: backoff
  // doubling from retry_backoff_ms up to the fetch timeout.
  self_update_backoff_ms_ = std::clamp<int64_t>(self_update_backoff_ms_ * 2, options_.raft.retry_backoff_ms,
                                                std::max<int64_t>(options_.raft.fetch_timeout_ms, 1));
  next_self_update_ms_ = now_ms + self_update_backoff_ms_;
  auto log = samsa::logger("samsa.raft.RaftManager");
  if (leader == options_.raft.node_id) {
    if (client_->role() != Role::kLeader) return;
    ErrorCode e = client_->update_voter(self, client_->epoch()).error;
    if (e != ErrorCode::NONE) log->info("Updating this voter's own record failed: {}", protocol::error_name(e));
    return;
  }
  std::optional<net::Endpoint> to = leader_endpoint();
  if (!to) return;
  protocol::UpdateRaftVoterRequest request;
  request.cluster_id = options_.cluster_id;
  request.current_leader_epoch = client_->epoch();
  request.voter_id = self.voter_id;
  request.voter_directory_id = self.voter_directory_id;
  for (const auto& e : self.endpoints) request.listeners.push_back({e.name, e.host, e.port, {}});
  request.kraft_version_feature.min_supported_version = self.kraft_version_feature.min_supported_version;
  request.kraft_version_feature.max_supported_version = self.kraft_version_feature.max_supported_version;
  self_update_in_flight_ = true;
  log->info("Node {} asks leader {} to update its voter record (endpoints {}:{}...)", options_.raft.node_id, leader,
            self.endpoints.empty() ? "" : self.endpoints.front().host,
            self.endpoints.empty() ? 0 : self.endpoints.front().port);
  kafka_client().call<protocol::UpdateRaftVoterResponse>(
      *to, 0, request, [this, log](std::optional<protocol::UpdateRaftVoterResponse> r) {
        // Back on the Raft thread (dropped if the manager stopped).
        post([this, log, r = std::move(r)] {
          self_update_in_flight_ = false;
          if (!r) return log->info("UpdateRaftVoter got no answer; retrying");
          if (r->error_code != 0)
            log->info("UpdateRaftVoter answered {}; retrying",
                      protocol::error_name(static_cast<ErrorCode>(r->error_code)));
        });
      });
}

void RaftManager::fail_voter_changes() {
  for (auto& p : pending_voter_changes_) p.done(ErrorCode::REQUEST_TIMED_OUT);
  pending_voter_changes_.clear();
}

namespace {

bool other_cluster(const RaftManager& raft, const std::optional<std::string>& cluster_id) {
  return cluster_id && raft.cluster_id() && *cluster_id != *raft.cluster_id();
}

template <typename Response>
Response answer(ErrorCode error) {
  Response r;
  r.error_code = protocol::code(error);
  if (error != ErrorCode::NONE) r.error_message = std::string(protocol::error_name(error));
  else r.error_message = std::nullopt;
  return r;
}

}  // namespace

void serve_add_raft_voter(RaftManager& raft, const protocol::AddRaftVoterRequest& request,
                          std::function<void(protocol::AddRaftVoterResponse)> done) {
  using protocol::AddRaftVoterResponse;
  if (other_cluster(raft, request.cluster_id)) return done(answer<AddRaftVoterResponse>(ErrorCode::INCONSISTENT_CLUSTER_ID));
  if (request.voter_id < 0 || request.listeners.empty())
    return done(answer<AddRaftVoterResponse>(ErrorCode::INVALID_REQUEST));
  Voter v = voter_with_id(request.voter_id);
  v.voter_directory_id = request.voter_directory_id;
  for (const auto& l : request.listeners) v.endpoints.push_back({l.name, l.host, l.port, {}});
  int64_t timeout = request.timeout_ms > 0 ? request.timeout_ms : 30'000;
  raft.add_voter(std::move(v), timeout, [done = std::move(done)](ErrorCode e) {
    done(answer<AddRaftVoterResponse>(e));
  });
}

void serve_remove_raft_voter(RaftManager& raft, const protocol::RemoveRaftVoterRequest& request,
                             std::function<void(protocol::RemoveRaftVoterResponse)> done) {
  using protocol::RemoveRaftVoterResponse;
  if (other_cluster(raft, request.cluster_id))
    return done(answer<RemoveRaftVoterResponse>(ErrorCode::INCONSISTENT_CLUSTER_ID));
  // Kafka's own timeout for a removal without one in the request.
  raft.remove_voter(request.voter_id, 30'000, [done = std::move(done)](ErrorCode e) {
    done(answer<RemoveRaftVoterResponse>(e));
  });
}

void serve_update_raft_voter(RaftManager& raft, const protocol::UpdateRaftVoterRequest& request,
                             std::function<void(protocol::UpdateRaftVoterResponse)> done) {
  using protocol::UpdateRaftVoterResponse;
  // Every answer names the leader this node knows, so a voter that asked
  // the wrong node (NOT_LEADER_OR_FOLLOWER, epoch errors) retries there.
  auto respond = [&raft](ErrorCode error) {
    UpdateRaftVoterResponse r;
    r.error_code = protocol::code(error);
    LeaderAndEpoch leader = raft.status().leader;
    r.current_leader.leader_id = leader.leader_id;
    r.current_leader.leader_epoch = leader.epoch;
    if (auto e = raft.leader_endpoint()) {
      r.current_leader.host = e->host;
      r.current_leader.port = e->port;
    }
    return r;
  };
  if (other_cluster(raft, request.cluster_id)) return done(respond(ErrorCode::INCONSISTENT_CLUSTER_ID));
  // The voter must stay reachable where the quorum talks: its controller listener.
  bool has_controller_listener = std::any_of(request.listeners.begin(), request.listeners.end(), [&](const auto& l) {
    return l.name == raft.controller_listener_name();
  });
  if (request.voter_id < 0 || !has_controller_listener) return done(respond(ErrorCode::INVALID_REQUEST));
  Voter v = voter_with_id(request.voter_id);
  v.voter_directory_id = request.voter_directory_id;
  for (const auto& l : request.listeners) v.endpoints.push_back({l.name, l.host, l.port, {}});
  v.kraft_version_feature.min_supported_version = request.kraft_version_feature.min_supported_version;
  v.kraft_version_feature.max_supported_version = request.kraft_version_feature.max_supported_version;
  raft.update_voter(std::move(v), request.current_leader_epoch,
                    [respond, done = std::move(done)](ErrorCode e) { done(respond(e)); });
}

}  // namespace samsa::raft
