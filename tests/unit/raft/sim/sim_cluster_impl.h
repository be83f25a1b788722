#pragma once
// The simulated cluster behind run_simulation (sim_cluster.h): its nodes,
// network and clock. Split over sim_cluster.cc (network, steps, the run),
// sim_cluster_faults.cc (crashes, partitions, the heal) and
// sim_cluster_state.cc (the replicated state machine and its snapshots).
// Threading: none; one run is one thread.
#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "samsa/raft/consensus/memory_log.h"
#include "samsa/raft/consensus/raft_client.h"
#include "sim_invariants.h"
#include "sim_metadata.h"
#include "sim_state.h"
#include "sim_cluster.h"
#include "sim_support.h"
#include "sim_voters.h"

namespace samsa::raft::sim::detail {

constexpr int64_t kStepMs = 2;

struct InFlightMessage {
  int64_t deliver_ms;
  uint64_t seq;  // ties broken by send order: deterministic
  RaftMessage message;
  // A refusal notice: `message` is a request that could not be delivered,
  // and its sender (of this incarnation) learns it as a refused connection.
  bool refused = false;
  int incarnation = 0;
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
  // A voter now or at any time before (KIP-853 changes): may have voted, so
  // its disk is never wiped and the checker does not hold it to observer rules.
  bool voter = false;
  MemoryLog log;
  SimQuorumStateStore store;
  std::unique_ptr<SimChannel> channel;
  std::unique_ptr<SimRandom> random;
  std::unique_ptr<RaftClient> client;  // null while down
  SimState state;                      // what the node applied (reset at restart)
  ImagePtr image;                      // controller mode: the metadata image it applied
  // Controller mode, while leading: the epoch it leads, where its LeaderChange
  // entry ends (it writes once it applied up to there), and its own writes
  // not applied yet (the active controller decides on the committed image
  // plus these; they are dropped, i.e. reverted, when it stops leading).
  Epoch controller_epoch = -1;
  Offset controller_start = 0;
  std::vector<MemoryLog::Batch> pending;
  int64_t restart_ms = 0;
  int incarnation = 0;  // bumped at every start: a dead process's connections die with it
  Role last_role = Role::kUnattached;
  Epoch last_epoch = -1;
  // Check-quorum: since when it has been leader (of leader_epoch), and since
  // when it has been unable to reach a majority of live voters (-1: it can).
  int64_t leader_since_ms = -1;
  Epoch leader_epoch = -1;
  int64_t cut_off_since_ms = -1;
  std::map<NodeId, int64_t> last_linked_ms;  // per voter: last step it was up and linked to this node
};

class Cluster {
 public:
  explicit Cluster(const SimOptions& o)
      : options_(o), rng_(o.seed), refusal_rng_(o.seed ^ 0x5EF05ED0u), checker_(0) {
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
    // KIP-853: the voter set lives in the log; snapshots name it.
    config_.kraft_version = 1;
    config_.snapshot_voters = snapshot_voters;
    initial_voters_ = static_cast<size_t>(voters);
    voter_changes_ = o.voter_changes < 0 ? rng_.chance(0.5) : o.voter_changes > 0;
    // Tiny snapshot chunks: a snapshot takes several FetchSnapshot rounds.
    config_.fetch_snapshot_max_bytes = static_cast<int32_t>(8 + rng_.next(40));
    // Often enough that lagging nodes meet trimmed logs; rarely enough that
    // a snapshot transfer completes before the leader's next-but-one.
    snapshot_every_ = 16 + rng_.next(112);
    controller_ = o.controller < 0 ? rng_.chance(0.25) : o.controller > 0;
    // Metadata images are KBs, not a few dozen bytes: chunks to match (a
    // transfer still takes a few rounds).
    if (controller_) config_.fetch_snapshot_max_bytes = static_cast<int32_t>(1024 + rng_.next(8192));
    result_.controller = controller_;
    checker_.set_controller(controller_);
    int observers = o.observers >= 0 ? o.observers : static_cast<int>(1 + rng_.next(2));
    for (int i = 1; i <= voters + observers; ++i) {
      auto n = std::make_unique<Node>();
      n->id = i;
      n->voter = i <= voters;
      n->channel = std::make_unique<SimChannel>(*this);
      n->random = std::make_unique<SimRandom>(rng_.next_u64());
      watch_log(*n);
      nodes_.push_back(std::move(n));
    }
    drop_rate_ = static_cast<double>(rng_.next(15)) / 100.0;
    // What a TCP stack tells the sender (sim_cluster.cc, refuse()), drawn
    // from its own generator so the seed's other parameters stay as they
    // were before refusals were modelled: a dead
    // node refuses (always); a lost request or a partitioned link is silence
    // in a third of the seeds, a refusal in a third, either in the rest.
    refusal_share_ = static_cast<double>(refusal_rng_.next(3)) / 2.0;
    max_delay_ms_ = 1 + rng_.next(20);
    crash_rate_ = static_cast<double>(1 + rng_.next(10)) / 1000.0;
    partition_rate_ = static_cast<double>(1 + rng_.next(8)) / 1000.0;
    for (auto& n : nodes_) start(*n);
  }

  SimResult run();
  void enqueue(RaftMessage m);

 private:
  Node& node(NodeId id) { return *nodes_[static_cast<size_t>(id - 1)]; }
  void watch_log(Node& n) {
    NodeId id = n.id;
    n.log.on_truncate = [this, id](Offset offset) {
      checker_.on_truncate(time_.now_ms(), id, node(id).log, offset);
    };
    n.log.on_reset = [this, id](OffsetAndEpoch snapshot) { checker_.on_reset(id, snapshot); };
  }
  // Replaces the node's state machine by snapshot `id`.
  void load_snapshot(Node& n, OffsetAndEpoch id) {
    auto snap = decode_snapshot(*n.log.read_snapshot(id));
    if (!snap) throw std::logic_error("unreadable snapshot");
    n.state = snap->state;
    if (!controller_) return;
    n.image = image_from_canonical(snap->image_bytes);
    compare_image(n);  // the image_to_records -> replay round trip is exact
  }
  // The node's state machine starts from its latest snapshot, as a server's
  // does at start-up.
  void load_latest_snapshot(Node& n) {
    n.state = SimState{};
    n.image = controller_ ? empty_image() : nullptr;
    if (auto id = n.log.latest_snapshot()) load_snapshot(n, *id);
  }
  void compare_image(const Node& n) {
    ++result_.images_compared;
    checker_.check_image(time_.now_ms(), n.id, n.state.applied, canonical(*n.image));
  }
  std::vector<std::string> next_write(Node& n);
  void start(Node& n) {
    RaftConfig c = config_;
    c.node_id = n.id;
    n.client = std::make_unique<RaftClient>(c, time_, *n.random, *n.channel, n.log, n.store);
    ++n.incarnation;
    checker_.on_restart(n.id);
    load_latest_snapshot(n);
  }
  void apply_and_snapshot(Node& n);
  // The leader now and then adds or removes a voter (sim_cluster_voters.cc).
  void maybe_change_voters(Node& leader);
  bool linked(NodeId a, NodeId b) const { return group_.empty() || group_.at(a) == group_.at(b); }
  void step();
  // Fast failover modelling (sim_cluster.cc): a request that cannot be
  // delivered comes back to its sender as a refused connection.
  void refuse(const RaftMessage& request);
  void refuse_unanswered(NodeId dead);
  void inject_faults();
  Node* pick_victim();
  void crash(Node& n, int64_t max_down_ms = 300);
  void heal();
  void trace_roles();
  void check();
  // A leader cut off from a majority of live voters must resign within the
  // fetch timeout (check-quorum: the minority side stops acting as leader).
  void check_isolated_leaders();

  SimOptions options_;
  SimRandom rng_;
  SimRandom refusal_rng_;  // refusals only
  SimTime time_;
  RaftConfig config_;
  InvariantChecker checker_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::priority_queue<InFlightMessage, std::vector<InFlightMessage>, std::greater<>> network_;
  uint64_t seq_ = 0;
  std::map<NodeId, int> group_;  // empty: no partition
  int64_t partition_end_ms_ = 0;
  double drop_rate_ = 0;
  double refusal_share_ = 0;  // of lost requests, the part the sender sees refused
  // Requests delivered to a node and not answered yet (a parked fetch):
  // (from, correlation id) -> the sender's incarnation. The node's crash
  // resets those connections.
  std::map<NodeId, std::map<std::pair<NodeId, int64_t>, int>> unanswered_;
  double crash_rate_ = 0;      // per step
  double partition_rate_ = 0;  // per step, while healed
  int64_t max_delay_ms_ = 1;
  int64_t next_value_ = 0;
  int64_t snapshot_every_ = 0;  // offsets applied between a node's snapshots
  bool controller_ = false;
  size_t initial_voters_ = 0;
  bool voter_changes_ = false;
  bool healed_ = false;
  int64_t heal_crash_ms_ = -1;  // the newest leader died for good then (in that epoch)
  Epoch heal_crash_epoch_ = -1;
  std::set<std::pair<Epoch, Offset>> written_after_heal_;  // (epoch, base) of entries appended after the heal
  SimResult result_;
};

}  // namespace samsa::raft::sim::detail
