// RaftClient: fast failover when the leader's connection is refused or reset.
//
// A leader process that dies (kill -9) closes its sockets: its followers'
// fetches fail at once, long before controller.quorum.fetch.timeout.ms. After
// the first such failure a voter stops vouching for the leader (it grants
// pre-votes); after kUnreachableAfter in a row (retried retry.backoff.ms
// apart) it pre-votes itself after unreachable_election_delay_ms(). This is safe because a
// pre-vote changes nothing durable: a false alarm (a transient refusal while
// the leader is alive) only costs a pre-vote that the voters still fetching
// from the leader refuse, and the refusal, naming the leader, sends this node
// back to following it. A request that times out is not reported here (a
// partition usually shows as silence, not as a refusal): it expires, and the
// fetch timeout still applies.
#include <algorithm>

#include "samsa/raft/consensus/raft_client.h"

namespace samsa::raft {

bool RaftClient::follower_vouches(const FollowerState& f) const {
  // One refusal is enough to stop vouching (unlike giving up on the leader,
  // which takes kUnreachableAfter): when a leader dies, all its followers see
  // their fetches reset at the same moment, and the first one to pre-vote
  // must not be turned away by one whose retry has not failed yet. A voter
  // whose fetch was refused once while the leader lives only adds its grant
  // to a pre-vote that a majority must still grant.
  return f.last_fetch_ok_ms >= 0 && time_.now_ms() - f.last_fetch_ok_ms < config_.fetch_timeout_ms &&
         f.fetch_failures == 0;
}

int64_t RaftClient::unreachable_election_delay_ms() const {
  // The voters in list order, starting after the leader: the first goes at
  // once, the others in evenly spaced slots over election.backoff.max.ms.
  // The slots are far apart compared with a pre-vote and a vote round trip,
  // so the first survivor usually wins before the next one starts; if it
  // cannot (dead, or its log is behind and the others refuse it), the next
  // slot's voter tries.
  const auto& voters = config_.voters;
  auto leader = std::find(voters.begin(), voters.end(), election_.leader_id);
  auto self = std::find(voters.begin(), voters.end(), config_.node_id);
  if (self == voters.end() || voters.size() < 2) return 0;
  auto n = static_cast<int64_t>(voters.size());
  int64_t start = leader == voters.end() ? 0 : (leader - voters.begin()) + 1;
  int64_t position = ((self - voters.begin()) - start + n) % n;  // 0 = right after the leader
  int64_t followers = leader == voters.end() ? n : n - 1;
  return position * config_.election_backoff_max_ms / std::max<int64_t>(1, followers);
}

void RaftClient::on_request_failed(NodeId to, int64_t correlation_id) {
  auto it = in_flight_.find(correlation_id);
  if (it == in_flight_.end()) return;  // answered, expired, or not ours
  InFlight sent = it->second;
  int64_t now = time_.now_ms();
  // Only a fast failure counts; one at the request timeout is a timeout.
  if (now - sent.sent_ms >= config_.request_timeout_ms) return;
  in_flight_.erase(it);
  if (sent.kind != InFlight::kFetch && sent.kind != InFlight::kFetchSnapshot) return;
  if (auto* u = std::get_if<UnattachedState>(&state_)) {
    // An observer looking for the leader asked a dead voter: ask another soon.
    if (!is_voter()) u->next_discovery_ms = std::min(u->next_discovery_ms, now + config_.retry_backoff_ms);
    return;
  }
  auto* f = std::get_if<FollowerState>(&state_);
  if (!f || to != election_.leader_id || sent.epoch != election_.epoch || correlation_id != f->fetch_correlation)
    return;
  f->fetch_sent_ms = -1;
  f->next_fetch_ms = now + config_.retry_backoff_ms;  // retry soon, not after the request timeout
  if (++f->fetch_failures < kUnreachableAfter) return;
  // The leader is unreachable: give up on it well before the fetch timeout.
  int64_t delay = is_voter() ? unreachable_election_delay_ms() : 0;
  f->fetch_deadline_ms = std::min(f->fetch_deadline_ms, now + delay);
}

}  // namespace samsa::raft
