// Committed offsets: OffsetCommit (with the member/generation checks that
// keep a zombie consumer from committing), OffsetFetch, OffsetDelete and
// offsets.retention.minutes expiry. Every change is appended to the group's
// __consumer_offsets partition before the in-memory view changes.
#include <algorithm>

#include "samsa/broker/broker_services.h"
#include "samsa/broker/group/group_coordinator.h"
#include "samsa/broker/metadata_image.h"
#include "samsa/util/logging.h"

namespace samsa::broker::group {

using protocol::ErrorCode;

namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.coordinator.group.OffsetMetadataManager");
  return l;
}

}  // namespace

void GroupCoordinator::commit_offsets(CommitRequest r, CommitCallback done) {
  std::vector<ErrorCode> errors(r.partitions.size(), ErrorCode::NONE);
  // Partitions of topics that do not exist are refused first, whatever the
  // group says (Kafka filters them before the coordinator sees the request).
  auto image = services_.metadata.current();
  std::vector<size_t> known;
  for (size_t i = 0; i < r.partitions.size(); ++i) {
    const TopicImage* topic = image->topic(r.partitions[i].topic);
    if (!topic || !topic->partition(r.partitions[i].partition)) errors[i] = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
    else known.push_back(i);
  }
  auto all = [&](ErrorCode e) {
    for (size_t i : known) errors[i] = e;
  };
  if (known.empty()) return done(std::move(errors));
  if (auto e = check(r.group_id); e != ErrorCode::NONE) {
    all(e);
    return done(std::move(errors));
  }
  auto g = find(r.group_id);
  if (!g) {
    // Without group management (generation -1) a commit creates a simple
    // group; otherwise the member's group no longer exists.
    if (r.generation_id >= 0) {
      all(r.api_version >= 9 ? ErrorCode::GROUP_ID_NOT_FOUND : ErrorCode::ILLEGAL_GENERATION);
      return done(std::move(errors));
    }
    g = get_or_create(r.group_id);
  }
  Deferred later;
  std::lock_guard lock(g->mu);
  auto answer = [&] { later.add([done, errors] { done(errors); }); };
  auto fail = [&](ErrorCode e) {
    all(e);
    answer();
  };
  // Kafka's ClassicGroup.validateOffsetCommit.
  if (g->state() == GroupState::kDead) return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
  if (!(r.generation_id < 0 && g->state() == GroupState::kEmpty)) {
    if (r.generation_id >= 0 || !r.member_id.empty() || r.group_instance_id) {
      if (auto e = g->validate_member(r.member_id, r.group_instance_id); e != ErrorCode::NONE) return fail(e);
      if (r.generation_id != g->generation()) return fail(ErrorCode::ILLEGAL_GENERATION);
    } else {
      return fail(ErrorCode::UNKNOWN_MEMBER_ID);  // no membership: only an empty group takes it
    }
    // Assignments are not out yet: the member will rejoin or sync first.
    if (g->state() == GroupState::kCompletingRebalance) return fail(ErrorCode::REBALANCE_IN_PROGRESS);
    if (Member* m = g->member(r.member_id)) heartbeat_received(*m);
  }

  int64_t t = now();
  std::vector<CoordinatorRecord> records;
  std::vector<size_t> written;
  for (size_t i : known) {
    const auto& p = r.partitions[i];
    if (p.metadata && p.metadata->size() > static_cast<size_t>(config_.offset_metadata_max_bytes)) {
      errors[i] = ErrorCode::OFFSET_METADATA_TOO_LARGE;
      continue;
    }
    int64_t commit_ts = p.commit_timestamp_ms >= 0 ? p.commit_timestamp_ms : t;
    OffsetAndMetadata value;
    value.offset = p.offset;
    value.leader_epoch = p.leader_epoch;
    value.metadata = p.metadata.value_or("");
    value.commit_timestamp_ms = commit_ts;
    if (r.retention_ms >= 0) value.expire_timestamp_ms = commit_ts + r.retention_ms;
    records.push_back(CoordinatorRecord::offset_commit(r.group_id, p.topic, p.partition, value));
    written.push_back(i);
  }
  if (records.empty()) {
    if (g->state() == GroupState::kEmpty && g->size() == 0 && g->offsets().empty() && g->generation() == 0) {
      g->transition(GroupState::kDead, t);  // created for a commit that wrote nothing
      erase_if_dead(g);
    }
    return answer();
  }
  // The offsets become visible (OffsetFetch) only once the ISR has them, as
  // Kafka's pending offset commits.
  write(*g, records, later,
        [done, errors, written, records](Group& g, const AppendOutcome& out, Deferred& replies) mutable {
          if (out.error != ErrorCode::NONE) {
            for (size_t i : written) errors[i] = out.error;
          } else {
            for (const auto& rec : records) g.apply_offset({rec.topic, rec.partition}, rec.offset, out.last_offset);
          }
          replies.add([done, errors = std::move(errors)]() mutable { done(std::move(errors)); });
        });
}

ErrorCode GroupCoordinator::fetch_offsets(const std::string& group_id,
                                          const std::optional<std::vector<TopicPartitions>>& topics,
                                          std::vector<FetchedOffset>& out, bool require_stable) {
  if (auto e = check(group_id); e != ErrorCode::NONE) return e;
  auto g = find(group_id);
  std::unique_lock<std::mutex> lock;
  if (g) lock = std::unique_lock(g->mu);
  if (!topics) {
    if (g && g->state() != GroupState::kDead)
      for (const auto& [tp, v] : g->offsets()) {
        if (require_stable && g->has_pending_txn_offset(tp))
          out.push_back({tp.first, tp.second, -1, -1, "", ErrorCode::UNSTABLE_OFFSET_COMMIT});
        else
          out.push_back({tp.first, tp.second, v.offset, v.leader_epoch, v.metadata, ErrorCode::NONE});
      }
    return ErrorCode::NONE;
  }
  for (const auto& t : *topics)
    for (int32_t p : t.partitions) {
      FetchedOffset f{t.topic, p, -1, -1, "", ErrorCode::NONE};
      if (g && g->state() != GroupState::kDead) {
        auto it = g->offsets().find({t.topic, p});
        // A transaction of a producer holds an offset for it: the caller
        // (a read_committed consumer) waits until it ended.
        if (require_stable && g->has_pending_txn_offset({t.topic, p})) {
          f.error = ErrorCode::UNSTABLE_OFFSET_COMMIT;
        } else if (it != g->offsets().end()) {
          f.offset = it->second.offset;
          f.leader_epoch = it->second.leader_epoch;
          f.metadata = it->second.metadata;
        }
      }
      out.push_back(std::move(f));
    }
  return ErrorCode::NONE;
}

void GroupCoordinator::delete_offsets(const std::string& group_id, const std::vector<TopicPartitions>& topics,
                                      DeleteOffsetsCallback done) {
  if (auto e = check(group_id); e != ErrorCode::NONE) return done(e, {});
  auto g = find(group_id);
  if (!g) return done(ErrorCode::GROUP_ID_NOT_FOUND, {});
  Deferred later;
  std::lock_guard lock(g->mu);
  auto fail = [&](ErrorCode e) { later.add([done, e] { done(e, {}); }); };
  if (g->state() == GroupState::kDead) return fail(ErrorCode::GROUP_ID_NOT_FOUND);
  bool consumer = g->protocol_type() && *g->protocol_type() == "consumer";
  if (!consumer && g->state() != GroupState::kEmpty) return fail(ErrorCode::NON_EMPTY_GROUP);
  std::set<std::string> subscribed;
  if (g->state() != GroupState::kEmpty)
    if (auto s = g->subscribed_topics()) subscribed = std::move(*s);

  std::vector<ErrorCode> partition_errors;
  std::vector<CoordinatorRecord> records;
  std::vector<size_t> written;
  for (const auto& t : topics)
    for (int32_t p : t.partitions) {
      if (subscribed.count(t.topic)) {
        partition_errors.push_back(ErrorCode::GROUP_SUBSCRIBED_TO_TOPIC);
        continue;
      }
      if (g->offsets().count({t.topic, p}) || g->has_pending_txn_offset({t.topic, p})) {
        records.push_back(CoordinatorRecord::offset_commit(group_id, t.topic, p, std::nullopt));
        written.push_back(partition_errors.size());
      }
      partition_errors.push_back(ErrorCode::NONE);
    }
  if (records.empty()) {
    later.add([done, partition_errors]() mutable { done(ErrorCode::NONE, std::move(partition_errors)); });
    return;
  }
  write(*g, records, later,
        [done, partition_errors, written, records](Group& g, const AppendOutcome& out, Deferred& replies) mutable {
          if (out.error != ErrorCode::NONE) {
            for (size_t i : written) partition_errors[i] = out.error;
          } else {
            for (const auto& rec : records) g.apply_offset({rec.topic, rec.partition}, std::nullopt, out.last_offset);
          }
          replies.add([done, errors = std::move(partition_errors)]() mutable { done(ErrorCode::NONE, std::move(errors)); });
        });
}

void GroupCoordinator::delete_offsets_of_topics(const std::set<std::string>& topics) {
  for (auto& g : all_groups()) {
    Deferred later;
    std::lock_guard lock(g->mu);
    std::vector<CoordinatorRecord> records;
    std::set<std::pair<std::string, int32_t>> gone;
    for (const auto& [tp, _] : g->offsets())
      if (topics.count(tp.first)) gone.insert(tp);
    for (const auto& tp : g->pending_txn_partitions())  // a transaction's commit must not bring them back
      if (topics.count(tp.first)) gone.insert(tp);
    for (const auto& tp : gone)
      records.push_back(CoordinatorRecord::offset_commit(g->id(), tp.first, tp.second, std::nullopt));
    if (records.empty()) continue;
    write(*g, records, later, [records](Group& g, const AppendOutcome& out, Deferred&) {
      if (out.error != ErrorCode::NONE) {
        log()->warn("Could not remove the offsets of deleted topics from group {}: {}", g.id(),
                    protocol::error_name(out.error));
        return;
      }
      for (const auto& rec : records) g.apply_offset({rec.topic, rec.partition}, std::nullopt, out.last_offset);
      log()->info("Removed {} offsets of deleted topics from group {}", records.size(), g.id());
    });
  }
}

// offsets.retention.minutes: a consumer group's offsets expire once it has
// been empty that long; a simple group's (no protocol type) offset by
// offset from its commit time; an explicit expire timestamp (OffsetCommit
// v2-4 retention) wins. An empty group left without offsets is deleted.
void GroupCoordinator::expire_offsets(int64_t t) {
  for (auto& g : all_groups()) {
    Deferred later;
    std::lock_guard lock(g->mu);
    if (g->state() == GroupState::kDead) continue;
    bool has_protocol = g->protocol_type().has_value() && !g->protocol_type()->empty();
    std::set<std::string> subscribed;
    bool can_expire = true;
    if (has_protocol && g->state() != GroupState::kEmpty) {
      // An active consumer group keeps the offsets of topics it subscribes to.
      auto s = g->subscribed_topics();
      if (s) subscribed = std::move(*s);
      else can_expire = false;
    }
    std::vector<CoordinatorRecord> records;
    if (can_expire)
      for (const auto& [tp, v] : g->offsets()) {
        // An offset a transaction is about to replace stays (Kafka).
        if (subscribed.count(tp.first) || g->has_pending_txn_offset(tp)) continue;
        bool expired = v.expire_timestamp_ms
                           ? t >= *v.expire_timestamp_ms
                           : t - (has_protocol && g->state() == GroupState::kEmpty ? g->state_timestamp_ms()
                                                                                    : v.commit_timestamp_ms) >=
                                 config_.offsets_retention_ms;
        if (expired) records.push_back(CoordinatorRecord::offset_commit(g->id(), tp.first, tp.second, std::nullopt));
      }
    // A group with an open transaction lives on: its commit may add offsets.
    bool dead = g->state() == GroupState::kEmpty && g->offsets().size() == records.size() &&
                !g->has_pending_txn_offsets();
    if (dead) records.push_back(CoordinatorRecord::group_metadata(g->id(), std::nullopt));
    if (records.empty()) continue;
    write(*g, records, later, [this, records, dead, t](Group& g, const AppendOutcome& out, Deferred&) {
      if (out.error != ErrorCode::NONE) {
        log()->warn("Could not expire offsets of group {}: {}", g.id(), protocol::error_name(out.error));
        return;
      }
      size_t removed = 0;
      for (const auto& rec : records)
        if (rec.kind == CoordinatorRecord::Kind::kOffsetCommit && g.offsets().count({rec.topic, rec.partition})) {
          g.apply_offset({rec.topic, rec.partition}, std::nullopt, out.last_offset);
          removed += g.offsets().count({rec.topic, rec.partition}) == 0;
        }
      if (removed) log()->info("Removed {} expired offsets of group {}", removed, g.id());
      // Still empty with nothing committed meanwhile: the tombstone stands.
      if (dead && g.state() == GroupState::kEmpty && g.offsets().empty() && !g.has_pending_txn_offsets()) {
        g.transition(GroupState::kDead, t);
        erase_if_dead(g.shared_from_this());
        log()->info("Group {} transitioned to Dead (empty, no offsets left)", g.id());
      }
    });
  }
}

}  // namespace samsa::broker::group
