#include "sim_cluster.h"

#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <queue>

#include <fmt/format.h>

#include "samsa/raft/consensus/memory_log.h"
#include "samsa/raft/consensus/raft_client.h"
#include "sim_invariants.h"
#include "sim_support.h"

namespace samsa::raft::sim {
namespace {

constexpr int64_t kStepMs = 2;

struct InFlightMessage {
  int64_t deliver_ms;
  uint64_t seq;  // ties broken by send order: deterministic
  RaftMessage message;
  bool operator>(const InFlightMessage& o) const {
    return deliver_ms != o.deliver_ms ? deliver_ms > o.deliver_ms : seq > o.seq;
  }
};

class Cluster;

class SimChannel final : public NetworkChannel {
 public:
  explicit SimChannel(Cluster& cluster) : cluster_(cluster) {}
  void send(RaftMessage message) override;

 private:
  Cluster& cluster_;
};

struct Node {
  NodeId id = kNoNode;
  bool voter = false;
  MemoryLog log;
  SimQuorumStateStore store;
  std::unique_ptr<SimChannel> channel;
  std::unique_ptr<SimRandom> random;
  std::unique_ptr<RaftClient> client;  // null while down
  int64_t restart_ms = 0;
  Role last_role = Role::kUnattached;
  Epoch last_epoch = -1;
};

class Cluster {
 public:
  explicit Cluster(const SimOptions& o)
      : options_(o), rng_(o.seed), checker_(0) {
    int voters = o.voters > 0 ? o.voters : (rng_.chance(0.5) ? 3 : 5);
    checker_ = InvariantChecker(static_cast<size_t>(voters));
    config_.voters.clear();
    for (int i = 1; i <= voters; ++i) config_.voters.push_back(i);
    // Kafka's timeouts scaled down 10x so a seed covers many elections.
    config_.election_timeout_ms = 100;
    config_.election_backoff_max_ms = 50;
    config_.fetch_timeout_ms = 200;
    config_.request_timeout_ms = 100;
    config_.retry_backoff_ms = 10;
    config_.fetch_max_wait_ms = 50;
    // Small batches often: replication then stops between an old epoch's
    // tail and the new leader's first entry (Raft's "figure 8" window).
    config_.fetch_max_entries = static_cast<size_t>(rng_.chance(0.5) ? 1 + rng_.next(3) : 1 + rng_.next(16));
    config_.test_only_grant_multiple_votes = o.grant_multiple_votes;
    for (int i = 1; i <= voters + o.observers; ++i) {
      auto n = std::make_unique<Node>();
      n->id = i;
      n->voter = i <= voters;
      n->channel = std::make_unique<SimChannel>(*this);
      n->random = std::make_unique<SimRandom>(rng_.next_u64());
      NodeId id = n->id;
      n->log.on_truncate = [this, id](Offset offset) {
        checker_.on_truncate(time_.now_ms(), id, node(id).log, offset);
      };
      nodes_.push_back(std::move(n));
    }
    drop_rate_ = static_cast<double>(rng_.next(15)) / 100.0;
    max_delay_ms_ = 1 + rng_.next(20);
    crash_rate_ = static_cast<double>(1 + rng_.next(10)) / 1000.0;
    partition_rate_ = static_cast<double>(1 + rng_.next(8)) / 1000.0;
    for (auto& n : nodes_) start(*n);
  }

  SimResult run();
  void enqueue(RaftMessage m);

 private:
  Node& node(NodeId id) { return *nodes_[static_cast<size_t>(id - 1)]; }
  void start(Node& n) {
    RaftConfig c = config_;
    c.node_id = n.id;
    n.client = std::make_unique<RaftClient>(c, time_, *n.random, *n.channel, n.log, n.store);
    checker_.on_restart(n.id);
  }
  bool linked(NodeId a, NodeId b) const { return group_.empty() || group_.at(a) == group_.at(b); }
  void step();
  void inject_faults();
  Node* pick_victim();
  void crash(Node& n, int64_t max_down_ms = 300);
  void heal();
  void trace_roles();
  void check();

  SimOptions options_;
  SimRandom rng_;
  SimTime time_;
  RaftConfig config_;
  InvariantChecker checker_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::priority_queue<InFlightMessage, std::vector<InFlightMessage>, std::greater<>> network_;
  uint64_t seq_ = 0;
  std::map<NodeId, int> group_;  // empty: no partition
  int64_t partition_end_ms_ = 0;
  double drop_rate_ = 0;
  double crash_rate_ = 0;      // per step
  double partition_rate_ = 0;  // per step, while healed
  int64_t max_delay_ms_ = 1;
  int64_t next_value_ = 0;
  SimResult result_;
};

void SimChannel::send(RaftMessage message) { cluster_.enqueue(std::move(message)); }

void Cluster::enqueue(RaftMessage m) {
  if (!linked(m.from, m.to) || rng_.chance(drop_rate_)) return;
  int64_t at = time_.now_ms() + 1 + rng_.next(max_delay_ms_);
  // Now and then a message arrives twice (a retried send): handlers must be
  // idempotent and stale responses ignored.
  if (rng_.chance(0.01)) network_.push(InFlightMessage{at + rng_.next(max_delay_ms_ * 4), seq_++, m});
  network_.push(InFlightMessage{at, seq_++, std::move(m)});
}

Node* Cluster::pick_victim() {
  // Half the faults hit the leader: that is where elections, truncation and
  // uncommitted tails come from.
  if (rng_.chance(0.5))
    for (auto& n : nodes_)
      if (n->client && n->client->role() == Role::kLeader) return n.get();
  return nodes_[static_cast<size_t>(rng_.next(static_cast<int64_t>(nodes_.size())))].get();
}

void Cluster::crash(Node& n, int64_t max_down_ms) {
  int64_t now = time_.now_ms();
  n.client.reset();
  n.log.crash();
  n.restart_ms = now + 10 + rng_.next(max_down_ms);
  ++result_.crashes;
  if (options_.trace) fmt::print(stderr, "t={} crash node {}\n", now, n.id);
}

void Cluster::inject_faults() {
  int64_t now = time_.now_ms();
  if (rng_.chance(crash_rate_)) {  // crash: the unflushed log tail is lost
    Node& n = *pick_victim();
    if (n.client) crash(n);
  }
  for (auto& n : nodes_)
    if (!n->client && now >= n->restart_ms) {
      start(*n);
      if (options_.trace) fmt::print(stderr, "t={} restart node {}\n", now, n->id);
    }
  if (!group_.empty() && now >= partition_end_ms_) group_.clear();
  if (group_.empty() && rng_.chance(partition_rate_)) {
    for (auto& n : nodes_) group_[n->id] = static_cast<int>(rng_.next(2));
    if (rng_.chance(0.5)) {  // or: cut one node (often the leader) off from all others
      NodeId lonely = pick_victim()->id;
      for (auto& [id, side] : group_) side = id == lonely ? 1 : 0;
    }
    partition_end_ms_ = now + 50 + rng_.next(800);
    ++result_.partitions;
    if (options_.trace) {
      std::string g;
      for (auto& [id, side] : group_) g += fmt::format(" {}:{}", id, side);
      fmt::print(stderr, "t={} partition{} until {}\n", now, g, partition_end_ms_);
    }
  }
}

void Cluster::heal() {
  group_.clear();
  drop_rate_ = 0;
  for (auto& n : nodes_)
    if (!n->client) start(*n);
  // Sometimes the leader dies for good at the heal: the others must elect a
  // successor (the minority left is then one voter).
  // (Only one: a deposed leader may not know it yet.)
  if (rng_.chance(0.3)) {
    Node* newest = nullptr;
    for (auto& n : nodes_)
      if (n->client->role() == Role::kLeader && (!newest || n->client->epoch() > newest->client->epoch()))
        newest = n.get();
    if (newest) {
      crash(*newest);
      newest->restart_ms = std::numeric_limits<int64_t>::max();
    }
  }
  if (options_.trace) fmt::print(stderr, "t={} heal\n", time_.now_ms());
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

void Cluster::check() {
  std::vector<NodeView> views;
  for (auto& n : nodes_) views.push_back(NodeView{n->id, n->voter, n->client.get(), &n->log});
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
    // The leader's state machine writes continuously, with back-pressure (as
    // a controller has): at most 32 uncommitted entries.
    if (n->client->role() == Role::kLeader && n->log.end_offset() - n->client->high_watermark() < 32 &&
        rng_.chance(0.4)) {
      // A controller write is a batch of 1..4 records (one entry).
      std::vector<std::string> records;
      for (int64_t i = 1 + rng_.next(4); i > 0; --i) records.push_back(std::to_string(++next_value_));
      n->client->append(std::move(records));
    }
  }
  if (options_.trace) trace_roles();
  check();
}

SimResult Cluster::run() {
  while (time_.now_ms() < options_.fault_phase_ms && checker_.ok()) {
    inject_faults();
    step();
  }
  if (checker_.ok()) heal();
  int64_t heal_ms = time_.now_ms();
  int64_t value_at_heal = next_value_;
  // Liveness: an entry written after the heal is committed, and then every
  // node (voters and observers) learns that it is committed.
  std::optional<Offset> target;
  bool live = false;
  size_t scanned = 0;
  while (checker_.ok() && time_.now_ms() < heal_ms + options_.liveness_bound_ms) {
    step();
    const auto& committed = checker_.committed();
    for (; !target && scanned < committed.size(); ++scanned)
      if (!committed[scanned].entry.control && std::stoll(committed[scanned].entry.records[0]) > value_at_heal)
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

}  // namespace

SimResult run_simulation(const SimOptions& options) {
  try {
    return Cluster(options).run();
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
