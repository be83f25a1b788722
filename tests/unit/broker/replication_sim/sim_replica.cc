// The simulated brokers: logs and partitions, metadata delivery, and both
// sides of a follower fetch.
#include <algorithm>

#include "sim_world.h"

namespace samsa::broker::replica::sim {

PartitionHooks Sim::hooks(int32_t id) {
  PartitionHooks h;
  h.on_progress = [](const std::string&, int32_t) {};
  h.send_isr_update = [this, id](std::shared_ptr<IsrUpdate> u) {
    // Deferred: the partition may hold its lock while it asks.
    net_.later(0, [this, id, u] { on_isr_update(id, u); });
  };
  h.now_ms = [c = clock_] { return c->now_ms(); };
  return h;
}

void Sim::open(Node& n) {
  log::LogOpenOptions lo;
  lo.dir = dir_ + "/node" + std::to_string(n.id) + "/" + kTopic + "-0";
  lo.tp = {kTopic, 0};
  lo.topic_id = topic_id_;
  lo.clock = clock_;
  lo.clean_shutdown = false;  // every restart is a crash
  lo.config.segment_bytes = 32 * 1024;  // a few rolls per run, so truncations cross segments
  lo.sync_partition_metadata = false;
  lo.config.retention_ms = -1;
  auto log = log::Log::open(lo);
  if (!log.ok()) return fail("opening node " + std::to_string(n.id) + "'s log: " + log.error().message);
  n.log = log.value();
  n.part = std::make_shared<Partition>(kTopic, 0, topic_id_, n.log, n.id, hooks(n.id));
  n.image_version = 0;
}

std::function<bool()> Sim::reachable(int32_t id) {
  int inc = nodes_[id].incarnation;
  return [this, id, inc] { return nodes_[id].alive && !nodes_[id].isolated && nodes_[id].incarnation == inc; };
}

void Sim::deliver_image(Node& n) {
  if (n.image_in_flight || n.image_version == version_ || n.isolated) return;
  n.image_in_flight = true;
  auto image = this->image();
  uint64_t version = version_;
  int32_t min_insync = o_.min_insync;
  int32_t id = n.id;
  auto done = [this, id] { nodes_[id].image_in_flight = false; };
  net_.send(reachable(id), [this, id, image, version, min_insync, done] {
    done();
    Node& m = nodes_[id];
    m.part->apply_metadata(*image->topic(kTopic)->partition(0), *image, min_insync);
    m.image_version = version;
  }, done);
}

void Sim::maybe_fetch(Node& n) {
  const int64_t now = clock_->now_ms();
  const int32_t leader = n.part->leader_id();
  if (n.fetching || now < n.fetch_backoff_until || leader < 1 || leader == n.id) return;
  FetchRequest req{n.id, n.broker_epoch, n.part->leader_epoch(), n.part->log_end_offset(),
                   n.part->log_start_offset(), n.part->latest_epoch()};
  n.fetching = true;
  const int32_t id = n.id;
  auto lost = [this, id] { nodes_[id].fetching = false; };
  auto both = [r1 = reachable(id), r2 = reachable(leader)] { return r1() && r2(); };
  net_.send(both, [this, id, leader, req, both, lost] {
    FetchResponse resp = serve_fetch(nodes_[leader], req);
    net_.send(both, [this, id, req, resp] { on_fetch_response(nodes_[id], req, resp); }, lost);
  }, lost);
}

// The leader side of a follower Fetch (handlers/fetch.cc's follower path).
FetchResponse Sim::serve_fetch(Node& l, const FetchRequest& req) {
  FetchResponse r;
  Partition& p = *l.part;
  r.error = p.check_epoch(req.current_leader_epoch, /*require_leader=*/true);
  if (r.error == ErrorCode::NONE && !p.is_replica(req.replica)) r.error = ErrorCode::NOT_LEADER_OR_FOLLOWER;
  if (r.error == ErrorCode::NONE) r.diverging = p.diverging_epoch(req.fetch_offset, req.last_fetched_epoch.value_or(-1));
  const int64_t leo = p.log_end_offset();
  if (r.error == ErrorCode::NONE && !r.diverging) {
    if (req.fetch_offset > leo || req.fetch_offset < p.log_start_offset()) {
      r.error = ErrorCode::OFFSET_OUT_OF_RANGE;
    } else {
      auto range = p.log()->read(req.fetch_offset, 64 * 1024, true, leo);
      if (!range.ok()) {
        fail("leader read: " + range.error().message);
        return r;
      }
      r.records.resize(range->size);
      if (range->size > 0) r.records.resize(range->file->pread_some(r.records, range->position));
      p.update_follower_fetch_state(req.replica, req.broker_epoch, req.fetch_offset, req.log_start, leo);
    }
  }
  r.high_watermark = p.high_watermark();
  r.log_start = p.log_start_offset();
  r.log_end = leo;
  return r;
}

// The replica fetcher's handling of the answer.
void Sim::on_fetch_response(Node& n, const FetchRequest& req, const FetchResponse& r) {
  n.fetching = false;
  Partition& p = *n.part;
  if (p.role() != Role::kFollower || p.leader_epoch() != req.current_leader_epoch) return;  // stale answer
  if (p.log_end_offset() != req.fetch_offset) return;
  if (r.error == ErrorCode::OFFSET_OUT_OF_RANGE) {
    if (r.log_end < p.log_end_offset()) truncate(n, r.log_end);
    else if (req.fetch_offset < r.log_start) (void)p.truncate_fully_and_start_at(r.log_start);
    return;
  }
  if (r.error != ErrorCode::NONE) {
    n.fetch_backoff_until = clock_->now_ms() + 50;
    return;
  }
  if (r.diverging) {
    if (o_.ignore_divergence) {
      n.fetch_backoff_until = clock_->now_ms() + 50;
      return;
    }
    const auto [lepoch, lend] = *r.diverging;
    const int64_t leo = p.log_end_offset();
    auto [fepoch, fend] = p.end_offset_for_epoch(lepoch);
    int64_t target;
    if (lend < 0) target = std::min(p.high_watermark(), leo);  // the leader knows no such epoch
    else if (fepoch < 0) target = std::min(lend, leo);
    else if (fepoch != lepoch) target = std::min(fend, leo);  // refetch with the older epoch
    else target = std::min(lend, fend);
    truncate(n, target);
    return;
  }
  if (!r.records.empty()) {
    auto a = p.append_as_follower(r.records);
    if (!a.ok()) return fail("follower " + std::to_string(n.id) + " append at " + std::to_string(req.fetch_offset) +
                             ": " + a.error().message);
  }
  p.update_from_leader(r.high_watermark, r.log_start);
  n.fetched = true;
  n.fetched_epoch = req.current_leader_epoch;
}

void Sim::truncate(Node& n, int64_t offset) {
  if (offset >= n.part->log_end_offset()) return;
  trace("node %d truncates %lld -> %lld", n.id, static_cast<long long>(n.part->log_end_offset()),
        static_cast<long long>(offset));
  auto t = n.part->truncate_to(offset);
  if (!t.ok()) return fail("truncation of node " + std::to_string(n.id) + ": " + t.error().message);
  ++res_.truncations;
}

void Sim::restart(Node& n) {
  n.alive = true;
  n.restart_at = -1;
  n.registered = false;
  n.fetching = false;
  n.fetched = false;
  n.image_in_flight = false;
  ++n.incarnation;
  trace("restart %d", n.id);
  open(n);
}

}  // namespace samsa::broker::replica::sim
