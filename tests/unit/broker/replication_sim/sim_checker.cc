// The invariants of the replication simulation and its state dump.
#include <algorithm>

#include "sim_world.h"

namespace samsa::broker::replica::sim {

// Offset -> record id of every record in [log start, end) of a log.
std::map<int64_t, int64_t> read_log(const log::Log& log, int64_t end) {
  std::map<int64_t, int64_t> out;
  int64_t off = log.log_start_offset();
  end = std::min(end, log.log_end_offset());
  while (off < end) {
    auto r = log.read(off, 1 << 20, true, end);
    if (!r.ok() || r->size == 0) break;
    std::vector<uint8_t> bytes(r->size);
    bytes.resize(r->file->pread_some(bytes, r->position));
    int64_t next = off;
    for (const auto& b : protocol::split_batches(bytes, false).batches) {
      // One record per batch in this simulation.
      if (b.header.base_offset >= off) out[b.header.base_offset] = b.header.base_timestamp - kTsBase;
      next = b.header.base_offset + b.header.last_offset_delta + 1;
    }
    if (next <= off) break;
    off = next;
  }
  return out;
}

void Sim::check_leaders() {
  for (int i = 1; i <= kNodes && res_.ok; ++i) {
    const Node& n = nodes_[i];
    if (!n.alive || !n.part || n.part->role() != Role::kLeader) continue;
    const auto key = std::make_pair(i, n.part->leader_epoch());
    const int64_t hw = n.part->high_watermark();
    auto [it, fresh] = hwm_.emplace(key, hw);
    if (!fresh && hw < it->second)
      return fail("leader " + std::to_string(i) + " high watermark went back from " + std::to_string(it->second) +
                  " to " + std::to_string(hw) + " in epoch " + std::to_string(key.second));
    it->second = hw;
    if (fresh) check_logs(false);  // a new leader: it must hold every acknowledged record
  }
  if (clock_->now_ms() % 1000 < kStepMs) check_logs(false);
}

const Node* Sim::current_leader() const {
  for (int i = 1; i <= kNodes; ++i) {
    const Node& n = nodes_[i];
    if (n.alive && n.part && n.part->role() == Role::kLeader && n.part->leader_epoch() == img_.leader_epoch)
      return &n;
  }
  return nullptr;
}

void Sim::check_logs(bool final) {
  const Node* l = current_leader();
  if (!l) {
    if (final) fail("no leader at the end: " + state());
    return;
  }
  const auto leader_log = read_log(*l->log, l->log->log_end_offset());
  for (const auto& [off, id] : acked_) {
    auto it = leader_log.find(off);
    if (it == leader_log.end() || it->second != id)
      return fail("acknowledged record " + std::to_string(id) + " at offset " + std::to_string(off) +
                  " is not in leader " + std::to_string(l->id) + "'s log (epoch " +
                  std::to_string(l->part->leader_epoch()) + "; found " +
                  (it == leader_log.end() ? std::string("nothing") : std::to_string(it->second)) + ")");
  }
  for (int i = 1; i <= kNodes; ++i) {
    const Node& n = nodes_[i];
    if (!n.alive || !n.part || &n == l) continue;
    // A follower's high watermark means something once it has applied an
    // answer from the current leader (a restarted log starts it at its end).
    if (!final && (!n.fetched || n.fetched_epoch != l->part->leader_epoch())) continue;
    const int64_t hw = std::min(n.part->high_watermark(), l->part->high_watermark());
    for (const auto& [off, id] : read_log(*n.log, hw)) {
      auto it = leader_log.find(off);
      if (it == leader_log.end() || it->second != id)
        return fail("node " + std::to_string(i) + "'s log below its high watermark " + std::to_string(hw) +
                    " differs from leader " + std::to_string(l->id) + "'s at offset " + std::to_string(off));
    }
    if (final && read_log(*n.log, n.log->log_end_offset()) != leader_log)
      return fail("node " + std::to_string(i) + " does not hold the leader's log at the end");
  }
}

bool Sim::converged() const {
  const Node* l = current_leader();
  if (!l || img_.isr.size() != static_cast<size_t>(kNodes)) return false;
  for (int i = 1; i <= kNodes; ++i) {
    const Node& n = nodes_[i];
    if (!n.alive || !n.part || n.image_version != version_) return false;
    if (n.part->log_end_offset() != l->part->log_end_offset()) return false;
  }
  return l->part->high_watermark() == l->part->log_end_offset();
}

std::string Sim::state() const {
  std::string s = "controller: leader " + std::to_string(img_.leader) + " epoch " +
                  std::to_string(img_.leader_epoch) + " isr " + isr_text() + ";";
  for (int i = 1; i <= kNodes; ++i) {
    const Node& n = nodes_[i];
    s += " node " + std::to_string(i) + (n.alive ? "" : " dead") + (n.isolated ? " isolated" : "");
    if (n.part)
      s += " role " + std::to_string(static_cast<int>(n.part->role())) + " epoch " +
           std::to_string(n.part->leader_epoch()) + " leo " + std::to_string(n.part->log_end_offset()) + " hw " +
           std::to_string(n.part->high_watermark()) + " maximal isr " +
           std::to_string(n.part->maximal_isr().size()) + ";";
  }
  return s;
}

}  // namespace samsa::broker::replica::sim
