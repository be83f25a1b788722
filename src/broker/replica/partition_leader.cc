// Partition: metadata, leader appends, follower positions, the high
// watermark and the ISR (Kafka's Partition.makeLeader/makeFollower,
// appendRecordsToLeader, updateFollowerFetchState, maybeExpandIsr,
// maybeShrinkIsr, maybeIncrementLeaderHW).
#include <algorithm>
#include <chrono>

#include "samsa/broker/fetch/partition_access.h"
#include "samsa/broker/replica/alter_partition_sender.h"
#include "samsa/broker/replica/partition.h"

namespace samsa::broker::replica {

using protocol::ErrorCode;

namespace {

bool contains(const std::vector<int32_t>& v, int32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

int64_t Partition::now_ms() const {
  if (hooks_.now_ms) return hooks_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Transition Partition::apply_metadata(const PartitionImage& p, const MetadataImage& image, int32_t min_insync) {
  bool moved = false;
  // The locks are held inside; a high watermark the image moved (an ISR
  // shrink committed) wakes parked produces and fetches after they are gone.
  const Transition t = [&]() -> Transition {
  std::unique_lock role_lock(leader_isr_mu_);
  std::lock_guard lock(mu_);
  min_insync_ = min_insync;
  // Eligibility follows the broker registrations, which change without the
  // partition changing: refreshed on every image.
  eligible_.clear();
  alive_.clear();
  for (int32_t r : p.replicas) {
    auto b = image.brokers.find(r);
    if (r == local_id_) {
      local_broker_epoch_ = b == image.brokers.end() ? -1 : b->second.epoch;
      continue;
    }
    if (b != image.brokers.end() && !b->second.fenced) alive_.push_back(r);
    if (b != image.brokers.end() && !b->second.fenced && !b->second.in_controlled_shutdown)
      eligible_.emplace_back(r, b->second.epoch);
  }
  if (!contains(p.replicas, local_id_)) {
    role_ = Role::kNone;
    remote_.clear();
    pending_isr_update_.reset();
    return Transition::kRemoved;
  }
  if (role_ != Role::kNone) {
    if (p.partition_epoch < partition_epoch_ && p.leader_epoch <= leader_epoch_) return Transition::kUnchanged;
    if (p.partition_epoch == partition_epoch_ && p.leader_epoch == leader_epoch_ && p.leader == leader_id_ &&
        p.isr == isr_ && p.replicas == replicas_)
      return Transition::kUnchanged;
  }

  const Role old_role = role_;
  const int32_t old_leader = leader_id_;
  const int32_t old_epoch = leader_epoch_;
  const Role new_role = p.leader == local_id_ ? Role::kLeader : Role::kFollower;
  const bool new_leader_epoch = p.leader_epoch != old_epoch;
  role_ = new_role;
  leader_id_ = p.leader;
  leader_epoch_ = p.leader_epoch;
  partition_epoch_ = p.partition_epoch;
  replicas_ = p.replicas;
  isr_ = p.isr;
  // The controller's word is final: whatever was in flight is answered by
  // this image (a later answer for it is stale and ignored).
  maximal_isr_ = isr_;
  pending_isr_update_.reset();

  if (new_role == Role::kFollower) {
    remote_.clear();
    if (old_role != Role::kFollower) return Transition::kBecameFollower;
    if (old_leader != p.leader || new_leader_epoch) return Transition::kLeaderChanged;
    return Transition::kIsrChanged;
  }

  const int64_t now = now_ms();
  const bool became = old_role != Role::kLeader || new_leader_epoch;
  std::vector<ReplicaState> next;
  for (int32_t r : replicas_) {
    if (r == local_id_) continue;
    auto it = std::find_if(remote_.begin(), remote_.end(), [&](const ReplicaState& s) { return s.broker_id == r; });
    if (!became && it != remote_.end()) {
      next.push_back(*it);
      continue;
    }
    // A new leader knows nothing of its followers' positions until they
    // fetch; ISR members count as caught up now, so they are not dropped
    // before they had the chance to fetch.
    ReplicaState s;
    s.broker_id = r;
    s.last_caught_up_ms = contains(isr_, r) ? now : 0;
    s.last_fetch_ms = contains(isr_, r) ? now : 0;
    next.push_back(s);
  }
  remote_ = std::move(next);
  if (became) {
    const int64_t end = log_->log_end_offset();
    leader_epoch_start_offset_ = end;
    leader_end_ = end;
    // As Kafka's maybeAssignEpochStartOffset: the epoch starts at the log
    // end even before the first append, so a follower's divergence is found.
    auto latest = log_->leader_epoch_cache().latest_epoch();
    // Without fsync: one per partition would make a CreateTopics of 10,000
    // partitions (or a failover moving them) 10,000 fsyncs long.
    if (!latest || *latest < leader_epoch_) log_->leader_epoch_cache().assign(leader_epoch_, end, /*sync=*/false);
  }
  moved = maybe_increment_hwm_locked();
  return became ? Transition::kBecameLeader : Transition::kIsrChanged;
  }();
  if (moved && hooks_.on_progress) hooks_.on_progress(topic_, index_);
  return t;
}

ErrorCode Partition::check_epoch(int32_t current_leader_epoch, bool require_leader) const {
  std::lock_guard lock(mu_);
  if (current_leader_epoch >= 0) {
    if (current_leader_epoch < leader_epoch_) return ErrorCode::FENCED_LEADER_EPOCH;
    if (current_leader_epoch > leader_epoch_) return ErrorCode::UNKNOWN_LEADER_EPOCH;
  }
  if (require_leader && role_ != Role::kLeader) return ErrorCode::NOT_LEADER_OR_FOLLOWER;
  return ErrorCode::NONE;
}

PartitionResult<log::AppendInfo> Partition::append_as_leader(std::span<uint8_t> batches, int16_t required_acks,
                                                             log::AppendOrigin origin,
                                                             std::optional<uint64_t> verification_guard,
                                                             std::shared_ptr<const void> stage_owner) {
  std::shared_lock role_lock(leader_isr_mu_);
  int32_t epoch;
  {
    std::lock_guard lock(mu_);
    if (role_ != Role::kLeader) return PartitionError{ErrorCode::NOT_LEADER_OR_FOLLOWER};
    // Kafka measures the committed ISR here, not the maximal one.
    if (required_acks == -1 && static_cast<int32_t>(isr_.size()) < min_insync_)
      return PartitionError{ErrorCode::NOT_ENOUGH_REPLICAS,
                            "The size of the current ISR " + std::to_string(isr_.size()) +
                                " is insufficient to satisfy the min.isr requirement of " +
                                std::to_string(min_insync_)};
    epoch = leader_epoch_;
  }
  auto result = log_->append_as_leader(batches, epoch, origin, verification_guard, std::move(stage_owner));
  if (!result) {
    const log::LogError& err = result.error();
    PartitionError e{kafka_error(err.code), err.message, err.record_errors};
    return e;
  }
  if (result->staged) return std::move(*result);  // publish_staged() does the rest
  bool moved;
  {
    std::lock_guard lock(mu_);
    leader_end_ = std::max(leader_end_, result->last_offset + 1);
    moved = maybe_increment_hwm_locked();
  }
  // The role lock goes first: a waiter woken below may append to this
  // partition again on this thread, and a shared_mutex is not recursive.
  role_lock.unlock();
  // Followers wait on the log end, consumers and acks=all produces on the
  // high watermark: a new append is news for the former at least.
  if ((moved || !result->duplicate) && hooks_.on_progress) hooks_.on_progress(topic_, index_);
  return std::move(*result);
}

std::optional<PartitionError> Partition::publish_staged(int64_t end_offset) {
  auto written = log_->write_staged(end_offset);
  if (!written) return PartitionError{kafka_error(written.error().code), written.error().message};
  {
    std::shared_lock role_lock(leader_isr_mu_);
    std::lock_guard lock(mu_);
    leader_end_ = std::max(leader_end_, end_offset);
    maybe_increment_hwm_locked();
  }
  // As after an append (no lock held: a woken waiter may append here again).
  if (hooks_.on_progress) hooks_.on_progress(topic_, index_);
  return std::nullopt;
}

bool Partition::maybe_increment_hwm_locked() {
  if (role_ != Role::kLeader) return false;
  int64_t hwm = std::min(leader_end_, log_->log_end_offset());
  for (int32_t member : maximal_isr_) {
    if (member == local_id_) continue;
    auto it = std::find_if(remote_.begin(), remote_.end(),
                           [&](const ReplicaState& s) { return s.broker_id == member; });
    // A member whose position is unknown holds the high watermark back.
    if (it == remote_.end() || it->log_end_offset < 0) return false;
    hwm = std::min(hwm, it->log_end_offset);
  }
  const int64_t before = log_->high_watermark();
  if (hwm <= before) return false;
  log_->advance_high_watermark(hwm);
  return log_->high_watermark() > before;
}

std::optional<ErrorCode> Partition::check_replicated(int64_t required_offset) const {
  std::lock_guard lock(mu_);
  if (role_ != Role::kLeader) return ErrorCode::NOT_LEADER_OR_FOLLOWER;
  if (log_->high_watermark() < required_offset) return std::nullopt;
  if (static_cast<int32_t>(isr_.size()) < min_insync_) return ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND;
  return ErrorCode::NONE;
}

std::optional<ErrorCode> Partition::check_durable(int64_t required_offset) const {
  if (log_->offline()) return ErrorCode::KAFKA_STORAGE_ERROR;
  if (log_->durable_offset() < required_offset) return std::nullopt;
  return ErrorCode::NONE;
}

void Partition::on_durable() {
  {
    std::lock_guard lock(mu_);
    maybe_increment_hwm_locked();
  }
  // Durable waits are keyed like acks=all ones: wake them whether or not
  // the high watermark moved.
  if (hooks_.on_progress) hooks_.on_progress(topic_, index_);
}

bool Partition::update_follower_fetch_state(int32_t replica_id, int64_t replica_epoch, int64_t fetch_offset,
                                            int64_t follower_log_start, int64_t leader_end_at_read) {
  std::shared_ptr<IsrUpdate> update;
  bool moved = false;
  {
    std::lock_guard lock(mu_);
    if (role_ != Role::kLeader) return false;
    auto it = std::find_if(remote_.begin(), remote_.end(),
                           [&](const ReplicaState& s) { return s.broker_id == replica_id; });
    if (it == remote_.end()) return false;
    const int64_t now = now_ms();
    ReplicaState& s = *it;
    // Kafka's ReplicaState.updateFetchStateOrThrow: caught up with the
    // leader's end at this read, or at least with its end at the previous
    // fetch (then it was caught up when that fetch was made).
    if (fetch_offset >= leader_end_at_read) s.last_caught_up_ms = std::max(s.last_caught_up_ms, now);
    else if (s.last_fetch_leader_log_end >= 0 && fetch_offset >= s.last_fetch_leader_log_end)
      s.last_caught_up_ms = std::max(s.last_caught_up_ms, s.last_fetch_ms);
    s.last_fetch_leader_log_end = leader_end_at_read;
    s.last_fetch_ms = now;
    s.log_end_offset = fetch_offset;
    // A follower that followed a DeleteRecords may complete it.
    const bool start_moved = s.log_start_offset != follower_log_start;
    s.log_start_offset = follower_log_start;
    if (replica_epoch >= 0) s.broker_epoch = replica_epoch;

    // maybeExpandIsr: caught up to the high watermark and into this epoch.
    if (!pending_isr_update_ && hooks_.send_isr_update && !contains(maximal_isr_, replica_id) &&
        fetch_offset >= log_->high_watermark() && fetch_offset >= leader_epoch_start_offset_) {
      auto e = std::find_if(eligible_.begin(), eligible_.end(), [&](const auto& x) { return x.first == replica_id; });
      // KIP-903: a fetch made with an old broker epoch comes from a replica
      // that restarted (and may have lost its unflushed tail) since.
      const bool eligible = e != eligible_.end() && (replica_epoch < 0 || e->second < 0 || e->second == replica_epoch);
      if (eligible) {
        std::vector<int32_t> next = isr_;
        next.push_back(replica_id);
        update = prepare_isr_update_locked(std::move(next), true);
      }
    }
    moved = maybe_increment_hwm_locked() || start_moved;
  }
  if (update) hooks_.send_isr_update(std::move(update));
  return moved;
}

int64_t Partition::low_watermark() const {
  std::lock_guard lock(mu_);
  if (role_ != Role::kLeader) return -1;
  int64_t low = log_->log_start_offset();
  for (const ReplicaState& s : remote_)
    if (contains(alive_, s.broker_id)) low = std::min(low, s.log_start_offset);
  return low;
}

void Partition::maybe_shrink_isr(int64_t replica_lag_time_max_ms) {
  std::shared_ptr<IsrUpdate> update;
  {
    std::lock_guard lock(mu_);
    if (role_ != Role::kLeader || pending_isr_update_ || !hooks_.send_isr_update) return;
    const int64_t now = now_ms();
    const int64_t leader_end = log_->log_end_offset();
    std::vector<int32_t> next;
    for (int32_t member : isr_) {
      if (member == local_id_) {
        next.push_back(member);
        continue;
      }
      auto it = std::find_if(remote_.begin(), remote_.end(),
                             [&](const ReplicaState& s) { return s.broker_id == member; });
      // Kafka's isCaughtUp: at the leader's end, or caught up recently.
      const bool caught_up = it != remote_.end() && (it->log_end_offset == leader_end ||
                                                     now - it->last_caught_up_ms <= replica_lag_time_max_ms);
      if (caught_up) next.push_back(member);
    }
    if (next.size() == isr_.size()) return;
    update = prepare_isr_update_locked(std::move(next), false);
  }
  hooks_.send_isr_update(std::move(update));
}

std::shared_ptr<IsrUpdate> Partition::prepare_isr_update_locked(std::vector<int32_t> new_isr, bool expanding) {
  auto update = std::make_shared<IsrUpdate>();
  update->topic = topic_;
  update->topic_id = topic_id_;
  update->partition = index_;
  update->leader_epoch = leader_epoch_;
  update->partition_epoch = partition_epoch_;
  for (int32_t r : new_isr) {
    int64_t epoch = -1;
    if (r == local_id_) {
      epoch = local_broker_epoch_;
    } else {
      auto it = std::find_if(remote_.begin(), remote_.end(), [&](const ReplicaState& s) { return s.broker_id == r; });
      if (it != remote_.end()) epoch = it->broker_epoch;
    }
    update->new_isr.emplace_back(r, epoch);
  }
  update->partition_ref = weak_from_this();
  // Expanding: the new member counts for the high watermark at once (Kafka's
  // PendingExpandIsr). Shrinking: the leaving ones still count until the
  // controller agrees, so nothing is acknowledged on an ISR not yet in force.
  if (expanding) maximal_isr_ = new_isr;
  pending_isr_update_ = update;
  return update;
}

void Partition::on_isr_update_result(const IsrUpdate& update, ErrorCode error, const PartitionImage* result) {
  bool moved;
  {
    std::lock_guard lock(mu_);
    if (pending_isr_update_.get() != &update) return;  // stale: an image or another answer came first
    pending_isr_update_.reset();
    if (error == ErrorCode::NONE && result != nullptr && result->leader_epoch == leader_epoch_ &&
        result->partition_epoch > partition_epoch_) {
      isr_ = result->isr;
      partition_epoch_ = result->partition_epoch;
      for (auto& s : remote_)
        if (contains(isr_, s.broker_id) && s.last_caught_up_ms == 0) s.last_caught_up_ms = now_ms();
    }
    // On failure the committed ISR stands; the next fetch or check retries.
    maximal_isr_ = isr_;
    moved = maybe_increment_hwm_locked();
  }
  if (moved && hooks_.on_progress) hooks_.on_progress(topic_, index_);
}

std::vector<ReplicaState> Partition::replica_states() const {
  std::lock_guard lock(mu_);
  return remote_;
}

std::vector<int32_t> Partition::replicas() const {
  std::lock_guard lock(mu_);
  return replicas_;
}

bool Partition::is_replica(int32_t broker_id) const {
  std::lock_guard lock(mu_);
  return contains(replicas_, broker_id);
}

std::pair<int32_t, int64_t> Partition::end_offset_for_epoch(int32_t epoch) const {
  return log_->leader_epoch_cache().end_offset_for(epoch, log_->log_end_offset());
}

std::optional<std::pair<int32_t, int64_t>> Partition::diverging_epoch(int64_t fetch_offset,
                                                                      int32_t last_fetched_epoch) const {
  if (last_fetched_epoch < 0) return std::nullopt;
  auto [epoch, end] = end_offset_for_epoch(last_fetched_epoch);
  // Kafka: diverging when this log has no such epoch, or it ends before the
  // follower's fetch offset; unknown (-1, -1) is reported as is.
  if (epoch < last_fetched_epoch || end < fetch_offset) return std::make_pair(epoch, end);
  return std::nullopt;
}

}  // namespace samsa::broker::replica
