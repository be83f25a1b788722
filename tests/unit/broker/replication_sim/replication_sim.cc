// The step loop, the faults and the clients of the replication simulation.
#include <stdlib.h>

#include <algorithm>
#include <filesystem>

#include "samsa/protocol/record_batch.h"
#include "samsa/util/logging.h"
#include "sim_world.h"

namespace samsa::broker::replica::sim {

Sim::Sim(const SimOptions& o) : o_(o), rng_(o.seed), net_(rng_, clock_) {
  // Logs in memory when the machine has a tmpfs: the simulation checks
  // replication, not durability, and fsyncs on a disk would dominate its time.
  const std::filesystem::path base =
      std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm") : std::filesystem::temp_directory_path();
  std::string tmpl = (base / "samsa-repl-sim-XXXXXX").string();
  dir_ = ::mkdtemp(tmpl.data());
  img_.partition_id = 0;
  for (int i = 1; i <= kNodes; ++i) img_.replicas.push_back(i);
  // Rotate the preferred leader with the seed.
  std::rotate(img_.replicas.begin(), img_.replicas.begin() + static_cast<long>(o.seed % kNodes),
              img_.replicas.end());
  img_.isr = img_.replicas;
  img_.leader = img_.replicas.front();
  img_.leader_epoch = 0;
  img_.partition_epoch = 0;
  nodes_.resize(kNodes + 1);
  for (int i = 1; i <= kNodes; ++i) {
    nodes_[i].id = i;
    nodes_[i].broker_epoch = next_broker_epoch_++;
    broker_epoch_[i] = nodes_[i].broker_epoch;
    fenced_[i] = false;
    last_heartbeat_[i] = 0;
    open(nodes_[i]);
  }
  version_ = 1;
}

Sim::~Sim() {
  for (auto& n : nodes_) n.part.reset(), n.log.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

SimResult Sim::run() {
  for (int step = 0; step < o_.steps && res_.ok; ++step) {
    tick(/*faults=*/true, /*produce=*/true);
  }
  // Heal everything, stop writing, and let the replicas converge.
  for (int i = 1; i <= kNodes; ++i) {
    nodes_[i].isolated = false;
    nodes_[i].heal_at = -1;
    if (!nodes_[i].alive) nodes_[i].restart_at = clock_->now_ms();
  }
  bool converged = false;
  for (int step = 0; step < 3000 && res_.ok && !converged; ++step) {
    tick(false, false);
    converged = pending_.empty() && this->converged();
  }
  if (res_.ok && !converged) fail("no convergence 15 s after the faults stopped: " + state());
  if (res_.ok) check_logs(/*final=*/true);
  return res_;
}

void Sim::tick(bool faults, bool produce) {
  clock_->advance(kStepMs);
  net_.run_due();
  const int64_t now = clock_->now_ms();
  for (int i = 1; i <= kNodes && res_.ok; ++i) {
    Node& n = nodes_[i];
    if (!n.alive && n.restart_at >= 0 && now >= n.restart_at) restart(n);
    if (n.isolated && n.heal_at >= 0 && now >= n.heal_at) n.isolated = false, trace("heal %d", i);
  }
  controller_tick();
  for (int i = 1; i <= kNodes; ++i) {
    Node& n = nodes_[i];
    if (!n.alive) continue;
    deliver_image(n);
    if (!n.part) continue;
    if (n.part->role() == Role::kFollower) maybe_fetch(n);
    if (n.part->role() == Role::kLeader && now % (kLagMaxMs / 2) < kStepMs) n.part->maybe_shrink_isr(kLagMaxMs);
  }
  if (faults) inject_faults();
  if (produce && std::uniform_int_distribution<int>(0, 2)(rng_) == 0) produce_one();
  check_pending();
  check_leaders();
}

void Sim::inject_faults() {
  std::uniform_int_distribution<int> pick(1, kNodes);
  std::uniform_int_distribution<int> roll(0, 999);
  const int64_t now = clock_->now_ms();
  int down = 0;
  for (int i = 1; i <= kNodes; ++i) down += (!nodes_[i].alive || nodes_[i].isolated) ? 1 : 0;
  if (down > 0) return;  // one fault at a time: a majority stays up
  if (roll(rng_) < 3) {
    Node& n = nodes_[pick(rng_)];
    n.alive = false;
    n.part.reset();
    n.log.reset();  // a crash: in-memory state gone, the files stay
    n.restart_at = now + kSessionMs + std::uniform_int_distribution<int>(50, 1000)(rng_);
    ++res_.crashes;
    trace("crash %d", n.id);
  } else if (roll(rng_) < 3) {
    Node& n = nodes_[pick(rng_)];
    n.isolated = true;
    n.heal_at = now + std::uniform_int_distribution<int>(100, 1500)(rng_);
    ++res_.isolations;
    trace("isolate %d", n.id);
  }
}

void Sim::produce_one() {
  // Most clients write where the controller's metadata says; some have
  // stale metadata and write to a node that still believes it leads (an
  // isolated old leader takes those from clients on its side: it must not
  // acknowledge them).
  int32_t target = img_.leader;
  if (std::uniform_int_distribution<int>(0, 3)(rng_) == 0) {
    const int32_t i = std::uniform_int_distribution<int32_t>(1, kNodes)(rng_);
    if (nodes_[i].alive && nodes_[i].part && nodes_[i].part->role() == Role::kLeader) target = i;
  }
  if (target < 1 || !nodes_[target].alive || !nodes_[target].part ||
      (nodes_[target].isolated && std::uniform_int_distribution<int>(0, 1)(rng_) == 0)) {
    ++res_.refused;
    return;
  }
  Node& n = nodes_[target];
  const int64_t id = next_record_++;
  protocol::RecordBatchBuilder builder;
  std::vector<uint8_t> value(8, 'v');
  builder.append(kTsBase + id, std::nullopt, value);
  std::vector<uint8_t> batch = builder.build();
  auto r = n.part->append_as_leader(batch, -1);
  if (!r.ok()) {
    ++res_.refused;
    return;
  }
  pending_.push_back({n.id, n.incarnation, r->first_offset, id, clock_->now_ms() + kProduceTimeoutMs});
  if (o_.ack_on_append) acknowledge(pending_.back()), pending_.pop_back();
}

void Sim::check_pending() {
  std::vector<PendingProduce> still;
  for (const auto& w : pending_) {
    const Node& n = nodes_[w.node];
    if (!n.alive || n.incarnation != w.incarnation || !n.part) {
      ++res_.refused;
      continue;
    }
    auto c = n.part->check_replicated(w.offset + 1);
    if (!c) {
      if (clock_->now_ms() > w.deadline) ++res_.refused;
      else still.push_back(w);
    } else if (*c == ErrorCode::NONE) {
      acknowledge(w);
    } else {
      ++res_.refused;
    }
  }
  pending_ = std::move(still);
}

void Sim::acknowledge(const PendingProduce& w) {
  auto [it, fresh] = acked_.emplace(w.offset, w.record_id);
  if (!fresh && it->second != w.record_id)
    return fail("two acknowledged records at offset " + std::to_string(w.offset) + ": ids " +
                std::to_string(it->second) + " and " + std::to_string(w.record_id));
  ++res_.acked;
}

void Sim::fail(const std::string& why) {
  if (!res_.ok) return;
  res_.ok = false;
  res_.failure = "t=" + std::to_string(clock_->now_ms() - kStart) + "ms: " + why;
}

SimResult run_replication_sim(const SimOptions& options) {
  // The logs' own INFO lines (rolls, truncations) only with --trace.
  set_log_level(options.trace ? "info" : "warn");
  Sim sim(options);
  return sim.run();
}

}  // namespace samsa::broker::replica::sim
