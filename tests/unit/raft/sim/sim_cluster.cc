#include "sim_cluster_impl.h"

namespace samsa::raft::sim {
namespace detail {

void SimChannel::send(RaftMessage message) { cluster_.enqueue(std::move(message)); }

namespace {

bool is_request(const RaftMessage& m) {
  return std::holds_alternative<VoteRequest>(m.payload) || std::holds_alternative<BeginQuorumEpochRequest>(m.payload) ||
         std::holds_alternative<EndQuorumEpochRequest>(m.payload) || std::holds_alternative<FetchRequest>(m.payload) ||
         std::holds_alternative<FetchSnapshotRequest>(m.payload);
}

}  // namespace

void Cluster::refuse(const RaftMessage& request) {
  if (!options_.refusals) return;
  int incarnation = node(request.from).incarnation;
  network_.push(InFlightMessage{time_.now_ms() + 1 + refusal_rng_.next(max_delay_ms_), seq_++, request, true, incarnation});
}

void Cluster::refuse_unanswered(NodeId dead) {
  auto waiting = std::move(unanswered_[dead]);
  unanswered_.erase(dead);
  if (!options_.refusals) return;
  for (const auto& [key, incarnation] : waiting) {
    RaftMessage m{key.first, dead, key.second, FetchRequest{}};
    network_.push(InFlightMessage{time_.now_ms() + 1 + refusal_rng_.next(max_delay_ms_), seq_++, m, true, incarnation});
  }
}

void Cluster::enqueue(RaftMessage m) {
  bool request = is_request(m);
  if (!request) {
    auto it = unanswered_.find(m.from);
    if (it != unanswered_.end()) it->second.erase({m.to, m.correlation_id});
  }
  if (!linked(m.from, m.to) || rng_.chance(drop_rate_)) {
    if (request && refusal_rng_.chance(refusal_share_)) refuse(m);
    return;
  }
  int64_t at = time_.now_ms() + 1 + rng_.next(max_delay_ms_);
  // Now and then a message arrives twice (a retried send): handlers must be
  // idempotent and stale responses ignored.
  if (rng_.chance(0.01)) network_.push(InFlightMessage{at + rng_.next(max_delay_ms_ * 4), seq_++, m});
  network_.push(InFlightMessage{at, seq_++, std::move(m)});
}

void Cluster::trace_roles() {
  for (auto& n : nodes_) {
    if (!n->client) continue;
    Role r = n->client->role();
    if (r == n->last_role && n->client->epoch() == n->last_epoch) continue;
    n->last_role = r;
    n->last_epoch = n->client->epoch();
    fmt::print(stderr, "t={} node {} {} epoch {} leader {} log end {} hw {}\n", time_.now_ms(), n->id,
               role_name(r), n->client->epoch(), n->client->leader_id(), n->log.end_offset(),
               n->client->high_watermark());
  }
}

void Cluster::check_isolated_leaders() {
  int64_t now = time_.now_ms();
  for (auto& n : nodes_) {
    if (!n->client) continue;
    for (auto& v : nodes_)
      if (v->client && linked(n->id, v->id)) n->last_linked_ms[v->id] = now;
  }
  for (auto& n : nodes_) {
    if (!n->client || !n->client->config().is_voter(n->id)) {
      n->leader_since_ms = n->cut_off_since_ms = -1;
      if (!n->client) n->last_linked_ms.clear();
      continue;
    }
    // As check-quorum counts it: per voter, the last time it could reach
    // this node; the majority-th most recent of those is when this node last
    // had a majority (a rolling set of voters, e.g. one partition replaced by
    // another, keeps a leader as long as each of them fetched lately). The
    // voters are the set the node itself has in force (KIP-853: it changes).
    const RaftConfig& c = n->client->config();
    std::vector<int64_t> last;
    for (NodeId v : c.voters) {
      auto it = n->last_linked_ms.find(v);
      last.push_back(it == n->last_linked_ms.end() ? -1 : it->second);
    }
    std::sort(last.begin(), last.end(), std::greater<>());
    int64_t majority_seen = last[c.majority() - 1];
    bool cut_off = majority_seen < now;
    n->cut_off_since_ms = cut_off ? majority_seen : -1;
    if (n->client->role() != Role::kLeader) {
      n->leader_since_ms = -1;
      continue;
    }
    if (n->leader_since_ms < 0 || n->leader_epoch != n->client->epoch()) {
      n->leader_since_ms = now;
      n->leader_epoch = n->client->epoch();
    }
    // Its last fetch from a majority arrives no later than the cut plus the
    // longest delay of a message already on its way (a crashed voter's last
    // fetch is still delivered; a duplicate comes up to 4 delays later), or
    // its election; plus a poll step.
    int64_t slack = 5 * max_delay_ms_ + 2 * kStepMs;
    if (cut_off && now > std::max(n->cut_off_since_ms, n->leader_since_ms) + config_.fetch_timeout_ms + slack) {
      checker_.fail_external(now, fmt::format("leader {} of epoch {} cut off from a majority since t={}ms still leads",
                                              n->id, n->client->epoch(), n->cut_off_since_ms));
      return;
    }
  }
}

void Cluster::check() {
  std::vector<NodeView> views;
  for (auto& n : nodes_)
    views.push_back(NodeView{n->id, n->voter, n->client.get(), &n->log, n->client ? &n->state : nullptr});
  checker_.check(time_.now_ms(), views);
}

void Cluster::step() {
  time_.advance(kStepMs);
  int64_t now = time_.now_ms();
  while (!network_.empty() && network_.top().deliver_ms <= now) {
    InFlightMessage event = network_.top();
    network_.pop();
    RaftMessage& m = event.message;
    if (event.refused) {
      Node& from = node(m.from);
      if (from.client && from.incarnation == event.incarnation) from.client->on_request_failed(m.to, m.correlation_id);
      check();
      if (!checker_.ok()) return;
      continue;
    }
    Node& to = node(m.to);
    // A request to a dead node is refused (no process listens); any other
    // message in flight when the link broke or the node died is lost.
    if (!to.client && is_request(m)) refuse(m);
    if (to.client && linked(m.from, m.to)) {
      if (is_request(m)) unanswered_[m.to][{m.from, m.correlation_id}] = node(m.from).incarnation;
      to.client->handle(m);
      // Crash right after answering a vote now and then: the answer is out,
      // so the vote must already be durable.
      if (std::holds_alternative<VoteRequest>(m.payload) && time_.now_ms() < options_.fault_phase_ms &&
          rng_.chance(0.1))
        crash(to, 40);  // back quickly, while the election is still on
    }
    check();
    if (!checker_.ok()) return;
  }
  for (auto& n : nodes_) {
    if (!n->client) continue;
    Offset hw_before = n->client->high_watermark();
    n->client->poll();
    // A leader's HW can move inside poll() alone (a voter removal shrinks
    // the majority): the checker learns the new commits before the node
    // applies, snapshots and trims them.
    if (n->client->high_watermark() != hw_before) {
      check();
      if (!checker_.ok()) return;
    }
    apply_and_snapshot(*n);
    if (n->client->role() != Role::kLeader) {  // not (or no longer) the active controller: revert
      n->controller_epoch = -1;
      n->pending.clear();
    }
    // The leader's state machine writes continuously, with back-pressure (as
    // a controller has): at most 32 uncommitted entries.
    if (n->client->role() == Role::kLeader && time_.now_ms() < options_.fault_phase_ms) maybe_change_voters(*n);
    if (n->client->role() == Role::kLeader && n->log.end_offset() - n->client->high_watermark() < 32 &&
        rng_.chance(0.4)) {
      std::vector<std::string> records = next_write(*n);
      if (records.empty()) continue;
      Entry entry{n->client->epoch(), false, 0, records};
      auto base = n->client->append(std::move(records));
      if (!base) continue;
      if (healed_) written_after_heal_.emplace(entry.epoch, *base);
      if (controller_) n->pending.push_back(MemoryLog::Batch{*base, std::move(entry)});
    }
  }
  if (options_.trace) trace_roles();
  check_isolated_leaders();
  check();
}

SimResult Cluster::run() {
  while (time_.now_ms() < options_.fault_phase_ms && checker_.ok()) {
    inject_faults();
    step();
  }
  if (checker_.ok()) heal();
  healed_ = true;
  int64_t heal_ms = time_.now_ms();
  // Liveness: an entry written after the heal is committed, and then every
  // node (voters and observers) learns that it is committed.
  std::optional<Offset> target;
  bool live = false;
  size_t scanned = 0;
  while (checker_.ok() && time_.now_ms() < heal_ms + options_.liveness_bound_ms) {
    step();
    if (heal_crash_ms_ >= 0 && result_.failover_ms < 0)
      for (auto& n : nodes_)
        if (n->client && n->client->role() == Role::kLeader && n->client->epoch() > heal_crash_epoch_)
          result_.failover_ms = time_.now_ms() - heal_crash_ms_;
    const auto& committed = checker_.committed();
    for (; !target && scanned < committed.size(); ++scanned)
      if (written_after_heal_.contains({committed[scanned].entry.epoch, committed[scanned].base}))
        target = committed[scanned].end();
    if (!target) continue;
    live = true;
    for (auto& n : nodes_) live = live && (!n->client || n->client->high_watermark() >= *target);
    if (live) break;
  }
  if (options_.trace)
    for (auto& n : nodes_)
      if (n->client)
        fmt::print(stderr, "end: node {} {} epoch {} leader {} voted {} log end {} (last epoch {}) hw {} voters {}\n", n->id,
                   role_name(n->client->role()), n->client->epoch(), n->client->leader_id(),
                   n->client->voted_id(), n->log.end_offset(), n->log.last_fetched_epoch(),
                   n->client->high_watermark(), fmt::join(n->client->config().voters, ","));
  if (controller_ && checker_.ok())  // every live node's image, at the end
    for (auto& n : nodes_)
      if (n->client) compare_image(*n);
  result_.ok = checker_.ok() && live;
  if (!checker_.ok()) result_.failure = checker_.violation();
  else if (!live)
    result_.failure = fmt::format("after the heal at t={}ms, {} within {}ms", heal_ms,
                                  target ? "not every node learnt the first new commit"
                                         : "no entry written after it was committed",
                                  options_.liveness_bound_ms);
  result_.leaders_elected = checker_.leaders_elected();
  result_.committed = checker_.committed_end();
  return result_;
}

}  // namespace detail

SimResult run_simulation(const SimOptions& options) {
  try {
    return detail::Cluster(options).run();
  } catch (const std::exception& e) {
    // A broken precondition inside the client or the log is a failure of
    // this seed, reported like an invariant violation.
    SimResult r;
    r.ok = false;
    r.failure = std::string("exception: ") + e.what();
    return r;
  }
}

}  // namespace samsa::raft::sim
