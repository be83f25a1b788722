// The classic rebalance protocol: JoinGroup, SyncGroup, Heartbeat and
// LeaveGroup over the group state machine (classic_group.h), with Kafka's
// checks in Kafka's order so clients see the error codes they expect.
// Every function here runs with the group locked; replies go through
// `Deferred` and leave after the lock is released.
#include <fmt/format.h>

#include <algorithm>

#include "samsa/broker/group/group_coordinator.h"
#include "samsa/protocol/uuid.h"
#include "samsa/util/logging.h"

namespace samsa::broker::group {

using protocol::ErrorCode;

namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.coordinator.group.GroupMetadataManager");
  return l;
}

// java.util.UUID's text form (8-4-4-4-12 hex), which Kafka puts in member ids.
std::string uuid_text(const protocol::Uuid& u) {
  std::string hex;
  for (size_t i = 0; i < u.bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) hex += '-';
    hex += fmt::format("{:02x}", u.bytes[i]);
  }
  return hex;
}

JoinResult join_error(ErrorCode error, std::string member_id = {}) {
  JoinResult r;
  r.error = error;
  r.member_id = std::move(member_id);
  return r;
}

SyncResult sync_error(ErrorCode error) {
  SyncResult r;
  r.error = error;
  return r;
}

}  // namespace

// --- JoinGroup ---

void GroupCoordinator::join(JoinRequest r, JoinCallback done) {
  if (r.group_id.empty()) return done(join_error(ErrorCode::INVALID_GROUP_ID, r.member_id));
  if (auto e = check(r.group_id); e != ErrorCode::NONE) return done(join_error(e, r.member_id));
  if (r.session_timeout_ms < config_.min_session_timeout_ms || r.session_timeout_ms > config_.max_session_timeout_ms)
    return done(join_error(ErrorCode::INVALID_SESSION_TIMEOUT, r.member_id));
  const bool unknown_member = r.member_id.empty();
  auto g = unknown_member ? get_or_create(r.group_id) : find(r.group_id);
  if (!g) return done(join_error(ErrorCode::UNKNOWN_MEMBER_ID, r.member_id));

  Deferred later;
  std::lock_guard lock(g->mu);
  // group.max.size: members already in the group (or already waiting in
  // this rebalance) may stay; new ones only while there is room.
  bool accept = true;
  switch (g->state()) {
    case GroupState::kEmpty:
    case GroupState::kDead:
      break;
    case GroupState::kPreparingRebalance: {
      const Member* m = g->member(r.member_id);
      accept = (m && m->awaiting_join) || g->awaiting_join_count() < static_cast<size_t>(config_.max_size);
      break;
    }
    case GroupState::kCompletingRebalance:
    case GroupState::kStable:
      accept = g->has_member(r.member_id) || g->size() < static_cast<size_t>(config_.max_size);
      break;
  }
  if (!accept) {
    if (g->has_member(r.member_id))
      remove_member_and_update(*g, r.member_id, "the group is over its maximum size", later);
    later.add([done, id = r.member_id] { done(join_error(ErrorCode::GROUP_MAX_SIZE_REACHED, id)); });
    return;
  }
  if (!g->supports(r.protocol_type, r.protocols)) {
    later.add([done, id = r.member_id] { done(join_error(ErrorCode::INCONSISTENT_GROUP_PROTOCOL, id)); });
  } else if (unknown_member) {
    join_new_member(*g, r, done, later);
  } else {
    join_known_member(*g, r, done, later);
  }
  // A group created by this request that nobody joined is not kept.
  if (g->state() == GroupState::kEmpty && g->generation() == 0 && g->size() == 0 && g->pending_members().empty() &&
      g->offsets().empty()) {
    g->transition(GroupState::kDead, now());
    erase_if_dead(g);
  }
}

void GroupCoordinator::join_new_member(Group& g, JoinRequest& r, JoinCallback& done, Deferred& later) {
  if (g.state() == GroupState::kDead) {
    later.join(done, join_error(ErrorCode::COORDINATOR_NOT_AVAILABLE));
    return;
  }
  std::string new_id = r.client_id + "-" + uuid_text(protocol::Uuid::random());
  if (r.group_instance_id) {
    join_static_member(g, r, new_id, done, later);
  } else if (r.require_known_member_id) {
    // JoinGroup v4+: the member must come back with the id it is given, so a
    // client that never receives this answer leaves no member behind.
    g.pending_members()[new_id] = now() + r.session_timeout_ms;
    later.join(done, join_error(ErrorCode::MEMBER_ID_REQUIRED, new_id));
  } else {
    add_member_and_rebalance(g, r, new_id, done, later);
  }
}

void GroupCoordinator::join_static_member(Group& g, JoinRequest& r, const std::string& new_id, JoinCallback& done,
                                          Deferred& later) {
  const std::string& instance = *r.group_instance_id;
  auto old_id = g.static_member(instance);
  if (!old_id) {
    add_member_and_rebalance(g, r, new_id, done, later);
    return;
  }
  // A known static member rejoins under a new member id (it restarted):
  // the old id is fenced, the member keeps its place and assignment.
  g.replace_static_member(instance, *old_id, new_id, later);
  Member* m = g.member(new_id);
  switch (g.state()) {
    case GroupState::kStable:
      if (m->matches(r.protocols) && g.protocol_type() && *g.protocol_type() == r.protocol_type) {
        int32_t old_session = m->session_timeout_ms, old_rebalance = m->rebalance_timeout_ms;
        m->session_timeout_ms = r.session_timeout_ms;
        m->rebalance_timeout_ms = r.rebalance_timeout_ms;
        m->client_id = r.client_id;
        m->client_host = r.client_host;
        // Answered once persisted; not persisted, the change is undone so
        // the old member id stays valid.
        store_group(g, later,
                    [this, instance, old = *old_id, new_id, old_session, old_rebalance, done = std::move(done)](
                        Group& g, const AppendOutcome& out, Deferred& replies) mutable {
                      Member* m = g.member(new_id);
                      if (out.error != ErrorCode::NONE) {
                        if (m) {
                          m->session_timeout_ms = old_session;
                          m->rebalance_timeout_ms = old_rebalance;
                          g.replace_static_member(instance, new_id, old, replies);
                        }
                        replies.join(done, join_error(out.error));
                        return;
                      }
                      // Fenced again or removed while the write was out.
                      if (!m) return replies.join(done, join_error(ErrorCode::UNKNOWN_MEMBER_ID, new_id));
                      heartbeat_received(*m);
                      JoinResult result = current_join_result(g, new_id);
                      result.skip_assignment = g.is_leader(new_id);  // v9+: the leader need not assign again
                      replies.join(done, std::move(result));
                      log()->info("Static member {} of group {} with unknown member id rejoins, assigning new member id {}",
                                  instance, g.id(), new_id);
                    });
        return;
      }
      update_member_and_rebalance(g, *m, r, done, later);
      return;
    case GroupState::kCompletingRebalance:
    case GroupState::kPreparingRebalance:
      update_member_and_rebalance(g, *m, r, done, later);
      return;
    case GroupState::kEmpty:
    case GroupState::kDead:
      later.join(done, join_error(ErrorCode::UNKNOWN_MEMBER_ID, new_id));
      return;
  }
}

void GroupCoordinator::join_known_member(Group& g, JoinRequest& r, JoinCallback& done, Deferred& later) {
  if (g.state() == GroupState::kDead) {
    later.join(done, join_error(ErrorCode::COORDINATOR_NOT_AVAILABLE, r.member_id));
    return;
  }
  if (g.pending_members().count(r.member_id)) {
    add_member_and_rebalance(g, r, r.member_id, done, later);
    return;
  }
  if (auto e = g.validate_member(r.member_id, r.group_instance_id); e != ErrorCode::NONE) {
    later.join(done, join_error(e, r.member_id));
    return;
  }
  Member* m = g.member(r.member_id);
  switch (g.state()) {
    case GroupState::kPreparingRebalance:
      update_member_and_rebalance(g, *m, r, done, later);
      return;
    case GroupState::kCompletingRebalance:
      // It missed the join response: send it again, unless it changed.
      if (m->matches(r.protocols)) {
        later.join(done, current_join_result(g, r.member_id));
        return;
      }
      update_member_and_rebalance(g, *m, r, done, later);
      return;
    case GroupState::kStable:
      // The leader rejoining forces a rebalance (how a consumer asks for one
      // when topic metadata changed); a follower with the same metadata does not.
      if (g.is_leader(r.member_id) || !m->matches(r.protocols)) {
        update_member_and_rebalance(g, *m, r, done, later);
        return;
      }
      heartbeat_received(*m);
      later.join(done, current_join_result(g, r.member_id));
      return;
    case GroupState::kEmpty:
    case GroupState::kDead:
      later.join(done, join_error(ErrorCode::UNKNOWN_MEMBER_ID, r.member_id));
      return;
  }
}

void GroupCoordinator::add_member_and_rebalance(Group& g, JoinRequest& r, const std::string& member_id,
                                                JoinCallback& done, Deferred& later) {
  Member m;
  m.member_id = member_id;
  m.group_instance_id = r.group_instance_id;
  m.client_id = r.client_id;
  m.client_host = r.client_host;
  m.session_timeout_ms = r.session_timeout_ms;
  m.rebalance_timeout_ms = r.rebalance_timeout_ms;
  m.protocol_type = r.protocol_type;
  m.protocols = std::move(r.protocols);
  m.awaiting_join = std::exchange(done, nullptr);
  m.heartbeat_deadline_ms = now() + r.session_timeout_ms;
  g.add(std::move(m));
  if (g.state() == GroupState::kPreparingRebalance && g.initial_delay_until_ms > 0) g.new_member_added = true;
  maybe_prepare_rebalance(g, "Adding new member", later);
  try_complete_join(g, later);
}

void GroupCoordinator::update_member_and_rebalance(Group& g, Member& m, JoinRequest& r, JoinCallback& done,
                                                   Deferred& later) {
  m.protocols = std::move(r.protocols);
  m.session_timeout_ms = r.session_timeout_ms;
  m.rebalance_timeout_ms = r.rebalance_timeout_ms;
  m.client_id = r.client_id;
  m.client_host = r.client_host;
  // A second JoinGroup while the first is parked: the first gets an answer
  // that makes a client rejoin (its request has most likely timed out).
  later.join(m.awaiting_join, join_error(ErrorCode::REBALANCE_IN_PROGRESS, m.member_id));
  m.awaiting_join = std::exchange(done, nullptr);
  maybe_prepare_rebalance(g, "Updating metadata for member", later);
  try_complete_join(g, later);
}

void GroupCoordinator::maybe_prepare_rebalance(Group& g, const char* reason, Deferred& later) {
  auto s = g.state();
  if (s == GroupState::kStable || s == GroupState::kCompletingRebalance || s == GroupState::kEmpty)
    prepare_rebalance(g, reason, later);
}

void GroupCoordinator::prepare_rebalance(Group& g, const char* reason, Deferred& later) {
  // Members waiting for their assignment learn that it will not come.
  if (g.state() == GroupState::kCompletingRebalance)
    reset_and_propagate_assignment_error(g, ErrorCode::REBALANCE_IN_PROGRESS, later);
  g.pending_sync.clear();
  g.sync_deadline_ms = 0;
  int64_t t = now();
  int32_t rebalance_timeout = g.max_rebalance_timeout_ms();
  if (g.state() == GroupState::kEmpty && config_.initial_rebalance_delay_ms > 0) {
    // A new group waits a little for more members, so that a whole fleet
    // starting at once does not rebalance once per member.
    g.initial_delay_until_ms = t + config_.initial_rebalance_delay_ms;
    g.initial_delay_remaining_ms = std::max<int64_t>(rebalance_timeout - config_.initial_rebalance_delay_ms, 0);
    g.new_member_added = false;
  } else {
    g.initial_delay_until_ms = 0;
  }
  g.join_deadline_ms = t + rebalance_timeout;
  log()->info("Preparing to rebalance group {} in state PreparingRebalance with old generation {} (reason: {})", g.id(),
              g.generation(), reason);
  g.transition(GroupState::kPreparingRebalance, t);
}

void GroupCoordinator::try_complete_join(Group& g, Deferred& later) {
  if (g.state() == GroupState::kPreparingRebalance && g.initial_delay_until_ms == 0 && g.all_members_joined())
    complete_join(g, later);
}

void GroupCoordinator::complete_join(Group& g, Deferred& later) {
  // Dynamic members that did not rejoin are gone; static ones keep their
  // place (they may be restarting) until their session expires.
  std::vector<std::string> gone;
  for (const auto& [id, m] : g.members())
    if (!m.awaiting_join && !m.group_instance_id) gone.push_back(id);
  for (const auto& id : gone) g.remove(id);
  g.initial_delay_until_ms = 0;

  if (g.size() > 0 && g.awaiting_join_count() == 0) {
    // Only static members that have not rejoined: wait one more rebalance
    // timeout for them (or for their sessions to expire).
    g.join_deadline_ms = now() + g.max_rebalance_timeout_ms();
    return;
  }
  g.elect_leader_if_needed();
  g.init_next_generation(now());
  if (g.state() == GroupState::kEmpty) {
    store_group(g, later, [](Group& g, const AppendOutcome& out, Deferred&) {
      if (out.error != ErrorCode::NONE)
        log()->warn("Failed to write the empty metadata of group {}: {}", g.id(), protocol::error_name(out.error));
    });
    log()->info("Group {} with generation {} is now empty", g.id(), g.generation());
    return;
  }
  int64_t t = now();
  for (auto& [id, m] : g.members()) {
    if (m.awaiting_join) {
      JoinResult result = current_join_result(g, id);
      later.join(m.awaiting_join, std::move(result));
    }
    m.heartbeat_deadline_ms = t + m.session_timeout_ms;
    g.pending_sync.insert(id);
  }
  g.sync_deadline_ms = t + g.max_rebalance_timeout_ms();
  log()->info("Stabilized group {} generation {} with {} members", g.id(), g.generation(), g.size());
}

JoinResult GroupCoordinator::current_join_result(const Group& g, const std::string& member_id) const {
  JoinResult r;
  r.member_id = member_id;
  r.generation_id = g.generation();
  r.protocol_type = g.protocol_type();
  r.protocol_name = g.protocol_name();
  r.leader = g.leader().value_or("");
  if (g.is_leader(member_id)) r.members = g.member_metadata();
  return r;
}

void GroupCoordinator::remove_member_and_update(Group& g, const std::string& member_id, const char* reason,
                                                Deferred& later) {
  Member* m = g.member(member_id);
  if (!m) return;
  // A member removed while its JoinGroup is parked must hear about it.
  later.join(m->awaiting_join, join_error(ErrorCode::UNKNOWN_MEMBER_ID, member_id));
  later.sync(m->awaiting_sync, sync_error(ErrorCode::UNKNOWN_MEMBER_ID));
  log()->info("Member {} has left group {} ({})", member_id, g.id(), reason);
  g.remove(member_id);
  switch (g.state()) {
    case GroupState::kStable:
    case GroupState::kCompletingRebalance:
      maybe_prepare_rebalance(g, reason, later);
      break;
    default:
      break;
  }
  // Everyone left may already have rejoined (or no one is left).
  try_complete_join(g, later);
}

void GroupCoordinator::reset_and_propagate_assignment_error(Group& g, ErrorCode error, Deferred& later) {
  for (auto& [_, m] : g.members()) {
    m.assignment.clear();
    later.sync(m.awaiting_sync, sync_error(error));
  }
}

void GroupCoordinator::propagate_assignment(Group& g, Deferred& later) {
  int64_t t = now();
  for (auto& [_, m] : g.members()) {
    if (!m.awaiting_sync) continue;
    SyncResult r;
    r.protocol_type = g.protocol_type();
    r.protocol_name = g.protocol_name();
    r.assignment = m.assignment;
    later.sync(m.awaiting_sync, std::move(r));
    m.heartbeat_deadline_ms = t + m.session_timeout_ms;
  }
}

void GroupCoordinator::heartbeat_received(Member& m) { m.heartbeat_deadline_ms = now() + m.session_timeout_ms; }

void GroupCoordinator::store_group(Group& g, Deferred& later, StoredCallback stored) {
  write(g, {CoordinatorRecord::group_metadata(g.id(), g.to_record())}, later, std::move(stored));
}

// --- SyncGroup ---

void GroupCoordinator::sync(SyncRequest r, SyncCallback done) {
  if (r.group_id.empty()) return done(sync_error(ErrorCode::INVALID_GROUP_ID));
  if (auto e = check(r.group_id); e != ErrorCode::NONE) return done(sync_error(e));
  auto g = find(r.group_id);
  if (!g) return done(sync_error(ErrorCode::UNKNOWN_MEMBER_ID));
  Deferred later;
  std::lock_guard lock(g->mu);
  auto fail = [&](ErrorCode e) { later.add([done, e] { done(sync_error(e)); }); };
  if (g->state() == GroupState::kDead) return fail(ErrorCode::COORDINATOR_NOT_AVAILABLE);
  if (auto e = g->validate_member(r.member_id, r.group_instance_id); e != ErrorCode::NONE) return fail(e);
  Member* m = g->member(r.member_id);
  if (r.generation_id != g->generation()) return fail(ErrorCode::ILLEGAL_GENERATION);
  if ((r.protocol_type && *r.protocol_type != g->protocol_type().value_or("")) ||
      (r.protocol_name && *r.protocol_name != g->protocol_name().value_or("")))
    return fail(ErrorCode::INCONSISTENT_GROUP_PROTOCOL);

  switch (g->state()) {
    case GroupState::kEmpty:
    case GroupState::kDead:
      return fail(ErrorCode::UNKNOWN_MEMBER_ID);
    case GroupState::kPreparingRebalance:
      return fail(ErrorCode::REBALANCE_IN_PROGRESS);
    case GroupState::kCompletingRebalance: {
      heartbeat_received(*m);
      later.sync(m->awaiting_sync, sync_error(ErrorCode::REBALANCE_IN_PROGRESS));  // a duplicate SyncGroup
      m->awaiting_sync = std::move(done);
      g->pending_sync.erase(r.member_id);
      if (!g->is_leader(r.member_id)) return;
      // The leader's assignment: members it left out get an empty one.
      for (auto& [id, member] : g->members()) member.assignment.clear();
      for (auto& [id, bytes] : r.assignments)
        if (Member* target = g->member(id)) target->assignment = std::move(bytes);
      // The members get their assignment once it is persisted (Kafka's
      // storeGroup callback); a rebalance started meanwhile supersedes it.
      store_group(*g, later, [this, generation = g->generation()](Group& g, const AppendOutcome& out, Deferred& replies) {
        if (g.state() != GroupState::kCompletingRebalance || g.generation() != generation) return;
        if (out.error != ErrorCode::NONE) {
          reset_and_propagate_assignment_error(g, out.error, replies);
          maybe_prepare_rebalance(g, "failed to persist the assignment", replies);
          return;
        }
        propagate_assignment(g, replies);
        g.transition(GroupState::kStable, now());
      });
      return;
    }
    case GroupState::kStable: {
      heartbeat_received(*m);
      g->pending_sync.erase(r.member_id);
      SyncResult result;
      result.protocol_type = g->protocol_type();
      result.protocol_name = g->protocol_name();
      result.assignment = m->assignment;
      later.add([done, result = std::move(result)]() mutable { done(std::move(result)); });
      return;
    }
  }
}

// --- Heartbeat ---

ErrorCode GroupCoordinator::heartbeat(const std::string& group_id, const std::string& member_id,
                                      const std::optional<std::string>& group_instance_id, int32_t generation_id) {
  if (group_id.empty()) return ErrorCode::INVALID_GROUP_ID;
  if (auto e = check(group_id); e != ErrorCode::NONE) return e;
  auto g = find(group_id);
  if (!g) return ErrorCode::UNKNOWN_MEMBER_ID;
  std::lock_guard lock(g->mu);
  if (g->state() == GroupState::kDead) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  if (auto e = g->validate_member(member_id, group_instance_id); e != ErrorCode::NONE) return e;
  Member* m = g->member(member_id);
  if (g->state() == GroupState::kEmpty) return ErrorCode::UNKNOWN_MEMBER_ID;
  if (generation_id != g->generation()) return ErrorCode::ILLEGAL_GENERATION;
  heartbeat_received(*m);
  return g->state() == GroupState::kPreparingRebalance ? ErrorCode::REBALANCE_IN_PROGRESS : ErrorCode::NONE;
}

// --- LeaveGroup ---

LeaveResult GroupCoordinator::leave(const std::string& group_id, const std::vector<LeavingMember>& members) {
  LeaveResult result;
  if (group_id.empty()) {
    result.error = ErrorCode::INVALID_GROUP_ID;
    return result;
  }
  if (auto e = check(group_id); e != ErrorCode::NONE) {
    result.error = e;
    return result;
  }
  auto g = find(group_id);
  if (!g) {
    result.error = ErrorCode::UNKNOWN_MEMBER_ID;
    return result;
  }
  Deferred later;
  std::lock_guard lock(g->mu);
  if (g->state() == GroupState::kDead) {
    result.error = ErrorCode::COORDINATOR_NOT_AVAILABLE;
    return result;
  }
  for (const auto& leaving : members) {
    ErrorCode e = ErrorCode::NONE;
    std::string id = leaving.member_id;
    if (leaving.group_instance_id) {
      auto holder = g->static_member(*leaving.group_instance_id);
      if (!holder) e = ErrorCode::UNKNOWN_MEMBER_ID;
      else if (!id.empty() && *holder != id) e = ErrorCode::FENCED_INSTANCE_ID;
      else id = *holder;
    }
    if (e == ErrorCode::NONE) {
      if (g->pending_members().erase(id)) {
        try_complete_join(*g, later);
      } else if (!g->has_member(id)) {
        e = ErrorCode::UNKNOWN_MEMBER_ID;
      } else {
        remove_member_and_update(*g, id, "the consumer is leaving the group", later);
      }
    }
    result.members.push_back(e);
  }
  return result;
}

// --- timers ---

void GroupCoordinator::check_deadlines(Group& g, int64_t t, Deferred& later) {
  if (g.state() == GroupState::kPreparingRebalance) {
    if (g.initial_delay_until_ms > 0) {
      if (t >= g.initial_delay_until_ms) {
        if (g.new_member_added && g.initial_delay_remaining_ms > 0) {
          // More members arrived during the delay: wait a little longer,
          // within the rebalance timeout.
          int64_t step = std::min<int64_t>(config_.initial_rebalance_delay_ms, g.initial_delay_remaining_ms);
          g.initial_delay_remaining_ms -= step;
          g.initial_delay_until_ms = t + step;
          g.new_member_added = false;
        } else {
          g.initial_delay_until_ms = 0;
          complete_join(g, later);
        }
      }
    } else if (t >= g.join_deadline_ms || g.all_members_joined()) {
      complete_join(g, later);
    }
  }
  if ((g.state() == GroupState::kCompletingRebalance || g.state() == GroupState::kStable) && g.sync_deadline_ms > 0 &&
      t >= g.sync_deadline_ms) {
    g.sync_deadline_ms = 0;
    auto missing = g.pending_sync;
    g.pending_sync.clear();
    for (const auto& id : missing)
      remove_member_and_update(g, id, "it did not send SyncGroup within the rebalance timeout", later);
  }
  std::vector<std::string> expired;
  for (const auto& [id, m] : g.members())
    if (!m.awaiting_join && !m.awaiting_sync && t > m.heartbeat_deadline_ms) expired.push_back(id);
  for (const auto& id : expired) remove_member_and_update(g, id, "removing member on heartbeat expiration", later);

  bool pending_expired = false;
  for (auto it = g.pending_members().begin(); it != g.pending_members().end();) {
    if (t > it->second) {
      it = g.pending_members().erase(it);
      pending_expired = true;
    } else {
      ++it;
    }
  }
  if (pending_expired) try_complete_join(g, later);
}

}  // namespace samsa::broker::group
