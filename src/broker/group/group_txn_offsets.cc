// Transactional offset commits (KIP-98, as Kafka's OffsetMetadataManager
// keeps them): TxnOffsetCommit writes the offsets to the group's
// __consumer_offsets partition as a transactional batch of the producer;
// they stay pending, invisible to OffsetFetch, until the producer's
// COMMIT marker on that partition makes them committed offsets, or its
// ABORT marker drops them. A reload replays the same from the log.
#include <algorithm>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/group/group_coordinator.h"
#include "samsa/broker/metadata_image.h"
#include "samsa/broker/replica/replica_manager.h"
#include "samsa/broker/txn/txn_marker_written.h"
#include "samsa/broker/txn/txn_verifier.h"
#include "samsa/util/logging.h"

namespace samsa::broker::group {

using protocol::ErrorCode;

namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.coordinator.group.OffsetMetadataManager");
  return l;
}

}  // namespace

// --- Group: the pending offsets ---

void Group::add_pending_txn_offset(int64_t producer_id, const std::pair<std::string, int32_t>& key,
                                   const OffsetAndMetadata& value, int64_t log_offset) {
  // A removal of the partition written after this commit was applied first
  // (writes complete out of order): the commit is gone, as in the log.
  auto applied = offset_log_offsets_.find(key);
  if (applied != offset_log_offsets_.end() && applied->second > log_offset && !offsets_.count(key)) return;
  auto& pending = pending_txn_[producer_id][key];
  if (pending.log_offset <= log_offset) pending = PendingOffset{value, log_offset};
}

bool Group::end_txn(int64_t producer_id, bool commit, int64_t marker_offset) {
  auto it = pending_txn_.find(producer_id);
  if (it == pending_txn_.end()) return false;
  auto& offsets = it->second;
  for (auto p = offsets.begin(); p != offsets.end();) {
    if (p->second.log_offset >= marker_offset) {
      ++p;  // a later transaction of the producer
      continue;
    }
    // apply_offset keeps a regular commit written after this one.
    if (commit) apply_offset(p->first, p->second.value, p->second.log_offset);
    p = offsets.erase(p);
  }
  if (!offsets.empty()) return true;
  pending_txn_.erase(it);
  return false;
}

bool Group::has_pending_txn_offset(const std::pair<std::string, int32_t>& key) const {
  return std::any_of(pending_txn_.begin(), pending_txn_.end(), [&](const auto& p) { return p.second.count(key) > 0; });
}

std::set<std::pair<std::string, int32_t>> Group::pending_txn_partitions() const {
  std::set<std::pair<std::string, int32_t>> out;
  for (const auto& [_, offsets] : pending_txn_)
    for (const auto& [key, _2] : offsets) out.insert(key);
  return out;
}

// --- TxnOffsetCommit ---

void GroupCoordinator::commit_txn_offsets(TxnCommitRequest r, CommitCallback done) {
  std::vector<ErrorCode> errors(r.partitions.size(), ErrorCode::NONE);
  // Kafka's KafkaApis answers partitions of unknown topics itself.
  auto image = services_.metadata.current();
  std::vector<size_t> known;
  for (size_t i = 0; i < r.partitions.size(); ++i) {
    const TopicImage* topic = image->topic(r.partitions[i].topic);
    if (!topic || !topic->partition(r.partitions[i].partition)) errors[i] = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
    else known.push_back(i);
  }
  auto fail_all = [&](ErrorCode e) {
    for (size_t i : known) errors[i] = e;
    done(std::move(errors));
  };
  if (known.empty()) return done(std::move(errors));
  if (r.group_id.empty()) return fail_all(ErrorCode::INVALID_GROUP_ID);
  if (auto e = check(r.group_id); e != ErrorCode::NONE) return fail_all(e);

  txn::TxnVerifier* verifier = services_.txn_verifier;
  const bool verify = verifier && services_.config &&
                      (services_.config->transaction_partition_verification_enable || r.add_partition);
  if (!verify)
    return write_txn_offsets(std::move(r), std::nullopt, std::move(errors), std::move(known), std::move(done));
  // KIP-890 (Kafka's CoordinatorPartitionWriter.maybeStartTransactionVerification):
  // a commit that would open the producer's transaction on the group's
  // partition is first confirmed by the transaction coordinator (AddOffsetsToTxn
  // put the partition in the transaction; for v5 this request adds it), and its append presents the guard
  // the verification started, so a commit delayed past EndTxn, or one whose
  // transaction a marker ended meanwhile, cannot open a transaction no marker
  // will ever end. Guard 0: the transaction was open, and must still be.
  const int32_t partition = partition_for(r.group_id);
  auto hosted = services_.replicas ? services_.replicas->get(kOffsetsTopic, partition) : nullptr;
  if (!hosted) return fail_all(ErrorCode::NOT_COORDINATOR);
  log::Log& plog = *hosted->log();
  if (plog.has_ongoing_txn(r.producer_id, r.producer_epoch))
    return write_txn_offsets(std::move(r), uint64_t{0}, std::move(errors), std::move(known), std::move(done));
  const uint64_t guard = plog.start_txn_verification(r.producer_id);
  txn::TxnVerifyRequest v;
  v.transactional_id = r.transactional_id;
  v.producer_id = r.producer_id;
  v.producer_epoch = r.producer_epoch;
  v.partitions.emplace_back(kOffsetsTopic, partition);
  v.add_partitions = r.add_partition;
  verifier->verify(std::move(v), [this, r = std::move(r), errors = std::move(errors), known = std::move(known),
                                  done = std::move(done), guard](std::vector<ErrorCode> verified) mutable {
    const ErrorCode e = verified.empty() ? ErrorCode::UNKNOWN_SERVER_ERROR : verified[0];
    if (e != ErrorCode::NONE) {
      log()->debug("TxnOffsetCommit of {} for group {} failed verification: {}", r.transactional_id, r.group_id,
                   protocol::error_name(e));
      for (size_t i : known) errors[i] = coordinator_error(e);
      return done(std::move(errors));
    }
    write_txn_offsets(std::move(r), guard, std::move(errors), std::move(known), std::move(done));
  });
}

void GroupCoordinator::write_txn_offsets(TxnCommitRequest r, std::optional<uint64_t> guard,
                                         std::vector<ErrorCode> errors, std::vector<size_t> known,
                                         CommitCallback done) {
  auto fail_all = [&](ErrorCode e) {
    for (size_t i : known) errors[i] = e;
    done(std::move(errors));
  };
  // Checked again: leadership may have moved while the verification ran.
  if (auto e = check(r.group_id); e != ErrorCode::NONE) return fail_all(e);
  auto g = find(r.group_id);
  if (!g) {
    // Without group management a commit creates a simple group (Kafka's
    // validateTransactionalOffsetCommit); a member's group must exist.
    if (r.generation_id >= 0) return fail_all(ErrorCode::ILLEGAL_GENERATION);
    g = get_or_create(r.group_id);
  }
  Deferred later;
  std::lock_guard lock(g->mu);
  auto answer = [&] { later.add([done, errors] { done(errors); }); };
  auto fail = [&](ErrorCode e) {
    for (size_t i : known) errors[i] = e;
    answer();
  };
  // Kafka's ClassicGroup.validateOffsetCommit for a transactional commit:
  // member, instance and generation are checked only when given (v3+), and
  // a rebalance in progress does not matter.
  if (g->state() == GroupState::kDead) return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
  if (!(r.generation_id < 0 && g->state() == GroupState::kEmpty) &&
      (r.generation_id >= 0 || !r.member_id.empty() || r.group_instance_id)) {
    if (auto e = g->validate_member(r.member_id, r.group_instance_id); e != ErrorCode::NONE) return fail(e);
    if (r.generation_id != g->generation()) return fail(ErrorCode::ILLEGAL_GENERATION);
  }

  const int64_t t = now();
  std::vector<CoordinatorRecord> records;
  std::vector<size_t> written;
  for (size_t i : known) {
    const auto& p = r.partitions[i];
    if (p.metadata && p.metadata->size() > static_cast<size_t>(config_.offset_metadata_max_bytes)) {
      errors[i] = ErrorCode::OFFSET_METADATA_TOO_LARGE;
      continue;
    }
    OffsetAndMetadata value;
    value.offset = p.offset;
    value.leader_epoch = p.leader_epoch;
    value.metadata = p.metadata.value_or("");
    value.commit_timestamp_ms = t;
    records.push_back(CoordinatorRecord::offset_commit(r.group_id, p.topic, p.partition, value));
    written.push_back(i);
  }
  if (records.empty()) {
    if (g->state() == GroupState::kEmpty && g->size() == 0 && g->offsets().empty() && g->generation() == 0 &&
        !g->has_pending_txn_offsets()) {
      g->transition(GroupState::kDead, t);  // created for a commit that wrote nothing
      erase_if_dead(g);
    }
    return answer();
  }
  const int32_t partition = g->partition();
  const int64_t pid = r.producer_id;
  {
    std::lock_guard plock(mu_);
    auto it = partitions_.find(partition);
    if (it != partitions_.end()) ++it->second.txn_writes_in_flight[pid];
  }
  log()->debug("Writing {} transactional offsets of group {} for {} (producer {} epoch {})", records.size(),
               r.group_id, r.transactional_id, pid, r.producer_epoch);
  // After the group lock is released: the append may complete at once, on
  // this thread, and the callback takes the lock.
  later.add([this, g, records = std::move(records), written = std::move(written), errors = std::move(errors),
             done = std::move(done), partition, pid, epoch = r.producer_epoch, t, guard]() mutable {
    log_.append_transactional(
        partition, records, t, pid, epoch, guard,
        [this, g, records, written, errors, done, partition, pid](AppendOutcome out) mutable {
          Deferred replies;  // declared first: runs after the lock is released
          std::lock_guard glock(g->mu);
          // The marker that already ended this write's transaction, if any.
          std::optional<std::pair<int64_t, bool>> ended;
          {
            std::lock_guard plock(mu_);
            auto it = partitions_.find(partition);
            if (it != partitions_.end()) {
              Partition& part = it->second;
              if (out.error == ErrorCode::NONE) {
                for (const auto& m : part.markers_seen[pid])
                  if (m.first > out.last_offset && (!ended || m.first < ended->first)) ended = m;
                if (!ended) part.open_txns[pid].insert(g->id());
              }
              if (--part.txn_writes_in_flight[pid] <= 0) {
                part.txn_writes_in_flight.erase(pid);
                part.markers_seen.erase(pid);
              }
            }
          }
          if (out.error != ErrorCode::NONE) {
            for (size_t i : written) errors[i] = out.error;
          } else {
            for (const auto& rec : records)
              g->add_pending_txn_offset(pid, {rec.topic, rec.partition}, *rec.offset, out.last_offset);
            if (ended) g->end_txn(pid, ended->second, ended->first);
          }
          replies.add([done, errors = std::move(errors)]() mutable { done(std::move(errors)); });
        });
  });
}

// --- markers ---

void GroupCoordinator::on_txn_marker_written(const txn::TxnMarkerWritten& m) {
  if (m.topic != kOffsetsTopic) return;
  {
    std::lock_guard lock(mu_);
    auto it = partitions_.find(m.partition);
    if (it == partitions_.end()) return;  // not coordinating it: its next leader replays the marker
    Partition& part = it->second;
    if (part.state == PartitionState::kLoading) {
      // The load may have read the log end before this marker.
      part.markers_during_load.push_back({m.producer_id, {m.marker_offset, m.commit}});
      return;
    }
    if (part.txn_writes_in_flight.count(m.producer_id))
      part.markers_seen[m.producer_id].emplace_back(m.marker_offset, m.commit);
  }
  end_txn(m.partition, m.producer_id, m.commit, m.marker_offset);
}

void GroupCoordinator::end_txn(int32_t partition, int64_t producer_id, bool commit, int64_t marker_offset) {
  std::set<std::string> group_ids;
  {
    std::lock_guard lock(mu_);
    auto it = partitions_.find(partition);
    if (it == partitions_.end()) return;
    auto open = it->second.open_txns.find(producer_id);
    if (open == it->second.open_txns.end()) return;
    group_ids = std::move(open->second);
    it->second.open_txns.erase(open);
  }
  for (const auto& id : group_ids) {
    auto g = find(id);
    if (!g) continue;
    bool still_open;
    {
      std::lock_guard glock(g->mu);
      still_open = g->end_txn(producer_id, commit, marker_offset);
      log()->debug("{} transactional offsets of producer {} for group {} (marker at {})",
                   commit ? "Committed" : "Aborted", producer_id, id, marker_offset);
      if (still_open) {
        std::lock_guard lock(mu_);
        auto it = partitions_.find(partition);
        if (it != partitions_.end()) it->second.open_txns[producer_id].insert(id);
      }
    }
  }
}

}  // namespace samsa::broker::group
