#include "sim_cluster_impl.h"

namespace samsa::raft::sim {
namespace detail {

void SimChannel::send(RaftMessage message) { cluster_.enqueue(std::move(message)); }

void Cluster::enqueue(RaftMessage m) {
  if (!linked(m.from, m.to) || rng_.chance(drop_rate_)) return;
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
    if (!n->client || !n->voter) {
      n->leader_since_ms = n->cut_off_since_ms = -1;
      continue;
    }
    size_t reachable = 0;
    for (auto& v : nodes_)
      if (v->voter && v->client && linked(n->id, v->id)) ++reachable;
    bool cut_off = reachable < config_.majority();
    if (!cut_off) n->cut_off_since_ms = -1;
    else if (n->cut_off_since_ms < 0) n->cut_off_since_ms = now;
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
    RaftMessage m = network_.top().message;
    network_.pop();
    Node& to = node(m.to);
    // A message in flight when the link broke or the node died is lost.
    if (to.client && linked(m.from, m.to)) {
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
    n->client->poll();
    apply_and_snapshot(*n);
    if (n->client->role() != Role::kLeader) {  // not (or no longer) the active controller: revert
      n->controller_epoch = -1;
      n->pending.clear();
    }
    // The leader's state machine writes continuously, with back-pressure (as
    // a controller has): at most 32 uncommitted entries.
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
        fmt::print(stderr, "end: node {} {} epoch {} leader {} voted {} log end {} (last epoch {}) hw {}\n", n->id,
                   role_name(n->client->role()), n->client->epoch(), n->client->leader_id(),
                   n->client->voted_id(), n->log.end_offset(), n->log.last_fetched_epoch(),
                   n->client->high_watermark());
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
