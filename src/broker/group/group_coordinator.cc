// The coordinator's frame: which __consumer_offsets partitions it owns,
// loading them, the group map, the periodic tick and the admin views.
// Membership is in group_membership.cc, offsets in group_offsets.cc.
#include "samsa/broker/group/group_coordinator.h"

#include <atomic>
#include <chrono>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/controller_channel.h"
#include "samsa/broker/controller_service.h"
#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata_image.h"
#include "samsa/broker/scheduler.h"
#include "samsa/protocol/gen/create_topics_request.h"
#include "samsa/protocol/gen/create_topics_response.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"
#include "samsa/util/logging.h"

namespace samsa::broker::group {

using protocol::ErrorCode;

namespace {

constexpr int64_t kWaitingWarnIntervalMs = 60'000;

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.coordinator.group.GroupCoordinator");
  return l;
}

int64_t system_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// A broker that is not the active controller asks the controller for
// __consumer_offsets with CreateTopics, as Kafka's AutoTopicCreationManager
// does; the client retries FindCoordinator until the topic is in the image.
// One request at a time (`in_flight`), so retrying clients do not pile up.
void request_offsets_topic(ControllerChannel& channel, const std::shared_ptr<std::atomic<bool>>& in_flight,
                           int32_t partitions, int16_t replication_factor, int32_t segment_bytes) {
  if (in_flight->exchange(true)) return;
  protocol::CreateTopicsRequest request;
  auto& t = request.topics.emplace_back();
  t.name = kOffsetsTopic;
  t.num_partitions = partitions;
  t.replication_factor = replication_factor;
  t.configs.push_back({"cleanup.policy", "compact", {}});
  t.configs.push_back({"compression.type", "producer", {}});
  t.configs.push_back({"segment.bytes", std::to_string(segment_bytes), {}});
  request.timeout_ms = 30'000;
  send_create_topics(channel, request, [in_flight](bool answered) {
    in_flight->store(false);
    if (!answered) log()->warn("Asking the controller to create {} got no answer", kOffsetsTopic);
  });
}

}  // namespace

GroupCoordinator::GroupCoordinator(BrokerServices& services, CoordinatorConfig config)
    : services_(services), config_(config), log_(services, config.commit_timeout_ms), now_(system_now) {}

GroupCoordinator::~GroupCoordinator() = default;

void GroupCoordinator::start() {
  if (started_.exchange(true) || !services_.scheduler) return;
  last_retention_check_ms_ = now();
  services_.scheduler->schedule_periodic(std::chrono::milliseconds(config_.tick_ms), [this] { tick(); });
}

int32_t GroupCoordinator::partition_for(const std::string& group_id) const {
  return group::partition_for(group_id, config_.offsets_partitions);
}

ErrorCode GroupCoordinator::check(const std::string& group_id) const {
  std::lock_guard lock(mu_);
  auto it = partitions_.find(partition_for(group_id));
  if (it == partitions_.end()) return ErrorCode::NOT_COORDINATOR;
  return it->second.state == PartitionState::kLoaded ? ErrorCode::NONE : ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
}

ErrorCode GroupCoordinator::ensure_offsets_topic() {
  auto image = services_.metadata.current();
  if (image->topic(kOffsetsTopic)) return ErrorCode::NONE;
  if (!services_.controller || !services_.config) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  const BrokerConfig& cfg = *services_.config;
  size_t live = 0;
  for (const auto& [_, b] : image->brokers) live += b.fenced ? 0 : 1;
  if (live < static_cast<size_t>(cfg.offsets_topic_replication_factor)) {
    // Every FindCoordinator lands here until enough brokers run: say it once
    // a minute, not once per request.
    static std::atomic<int64_t> last_warned_ms{-kWaitingWarnIntervalMs};
    const int64_t now_ms = now();
    int64_t last = last_warned_ms.load(std::memory_order_relaxed);
    if (now_ms - last >= kWaitingWarnIntervalMs && last_warned_ms.compare_exchange_strong(last, now_ms))
      log()->warn("Cannot create {} yet: {} live brokers, offsets.topic.replication.factor is {}", kOffsetsTopic,
                  live, cfg.offsets_topic_replication_factor);
    return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  }
  if (!services_.controller->active() && services_.controller_channel) {
    request_offsets_topic(*services_.controller_channel, offsets_topic_requested_, config_.offsets_partitions,
                          static_cast<int16_t>(cfg.offsets_topic_replication_factor),
                          static_cast<int32_t>(cfg.offsets_topic_segment_bytes));
    return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  }
  {
    ControllerService& controller = *services_.controller;
    auto committed = controller.commit([&](const MetadataImage& img) -> std::vector<metadata::RecordAndVersion> {
      if (img.topic(kOffsetsTopic)) return {};
      metadata::CreatableTopic t;
      t.name = kOffsetsTopic;
      t.num_partitions = config_.offsets_partitions;
      t.replication_factor = cfg.offsets_topic_replication_factor;
      t.configs = {{"cleanup.policy", "compact"},
                   {"compression.type", "producer"},
                   {"segment.bytes", std::to_string(cfg.offsets_topic_segment_bytes)}};
      auto result = metadata::create_topics(img, std::span(&t, 1), false, controller.defaults(), controller.placer());
      if (!result.topics.empty() && !result.topics[0].error.ok())
        log()->warn("Creating {} failed: {}", kOffsetsTopic, result.topics[0].error.message);
      return result.records;
    });
    if (auto* error = std::get_if<ControllerError>(&committed)) {
      log()->error("Creating {} failed: {}", kOffsetsTopic, to_api_error(*error).message);
      return ErrorCode::COORDINATOR_NOT_AVAILABLE;
    }
  }
  return services_.metadata.current()->topic(kOffsetsTopic) ? ErrorCode::NONE : ErrorCode::COORDINATOR_NOT_AVAILABLE;
}

// --- partitions ---

void GroupCoordinator::on_image(const MetadataImage& image) {
  std::set<int32_t> led;
  if (const TopicImage* t = image.topic(kOffsetsTopic))
    for (const auto& [index, p] : t->partitions)
      if (p.leader == services_.node_id && index < config_.offsets_partitions) led.insert(index);

  std::vector<std::pair<int32_t, uint64_t>> to_load;  // partition, load id
  std::vector<int32_t> to_drop;
  std::set<std::string> deleted_topics;
  {
    std::lock_guard lock(mu_);
    std::set<std::string> names;
    if (image.topics)
      for (const auto& [name, _] : image.topics->by_name) names.insert(name);
    if (topics_)
      for (const auto& name : *topics_)
        if (!names.count(name)) deleted_topics.insert(name);
    topics_ = std::move(names);
    // Only a partition newly led here is loaded: a new leader epoch with
    // this broker still leader keeps its groups (the log did not change
    // under them).
    for (int32_t p : led)
      if (!partitions_.count(p)) {
        Partition& part = partitions_[p];
        part.load_id = ++next_load_id_;
        to_load.emplace_back(p, part.load_id);
      }
    for (const auto& [p, _] : partitions_)
      if (!led.count(p)) to_drop.push_back(p);
    for (int32_t p : to_drop) partitions_.erase(p);
  }
  if (!to_drop.empty()) {
    // Lost leadership (or the topic was deleted): forget those groups; their
    // parked requests are told to find the new coordinator.
    Deferred later;
    for (auto& g : all_groups()) {
      std::lock_guard glock(g->mu);
      if (std::find(to_drop.begin(), to_drop.end(), g->partition()) == to_drop.end()) continue;
      for (auto& [id, m] : g->members()) {
        JoinResult jr;
        jr.error = ErrorCode::NOT_COORDINATOR;
        jr.member_id = id;
        later.join(m.awaiting_join, std::move(jr));
        SyncResult sr;
        sr.error = ErrorCode::NOT_COORDINATOR;
        later.sync(m.awaiting_sync, std::move(sr));
      }
      g->transition(GroupState::kDead, now());
      erase_if_dead(g);
    }
  }
  // Replaying a partition reads files: not on the metadata publisher thread.
  for (auto [p, id] : to_load) loader_.submit([this, p = p, id = id] { load_partition(p, id); });
  if (!deleted_topics.empty()) delete_offsets_of_topics(deleted_topics);
}

void GroupCoordinator::await_loads() { loader_.drain(); }

void GroupCoordinator::load_partition(int32_t partition, uint64_t load_id) {
  auto is_current = [&] {
    auto it = partitions_.find(partition);
    return it != partitions_.end() && it->second.load_id == load_id;
  };
  {
    std::lock_guard lock(mu_);
    if (!is_current()) return;  // dropped (or dropped and led again) before its turn
  }
  auto started = std::chrono::steady_clock::now();
  std::map<std::string, std::shared_ptr<Group>> loaded;
  std::set<std::string> tombstoned;
  int64_t t = now();
  size_t records = 0;
  auto group_of = [&](const std::string& id) -> Group& {
    auto& g = loaded[id];
    if (!g) g = std::make_shared<Group>(id, partition, t);
    return *g;
  };
  // Transactional offset commits stay pending until their producer's
  // marker; a transaction still open at the log end stays pending after the
  // load (its marker arrives through on_txn_marker_written).
  std::map<int64_t, std::set<std::string>> open_txns;
  int64_t loaded_end = -1;
  OffsetsLog::LoadVisitor visit;
  visit.record = [&](OffsetsLog::LoadedRecord&& lr) {
    CoordinatorRecord& r = lr.record;
    Group& g = group_of(r.group_id);
    if (r.kind == CoordinatorRecord::Kind::kOffsetCommit) {
      auto key = std::make_pair(r.topic, r.partition);
      if (r.offset && lr.producer_id >= 0) {
        g.add_pending_txn_offset(lr.producer_id, key, *r.offset, lr.offset);
        open_txns[lr.producer_id].insert(r.group_id);
      } else {
        g.apply_offset(key, r.offset, lr.offset);
      }
    } else if (r.group) {
      g.load(*r.group, t);
      tombstoned.erase(r.group_id);
    } else {
      g.load(GroupRecord{}, t);
      tombstoned.insert(r.group_id);
    }
  };
  visit.marker = [&](int64_t producer_id, bool commit, int64_t offset) {
    auto open = open_txns.find(producer_id);
    if (open == open_txns.end()) return;
    for (const auto& id : open->second) loaded[id]->end_txn(producer_id, commit, offset);
    open_txns.erase(open);
  };
  try {
    records = log_.load(partition, visit, &loaded_end);
  } catch (const std::exception& e) {
    log()->error("Loading {}-{} failed: {}; its groups stay unavailable", kOffsetsTopic, partition, e.what());
    return;
  }
  size_t groups = 0;
  std::vector<std::pair<int64_t, std::pair<int64_t, bool>>> late_markers;
  {
    std::lock_guard lock(mu_);
    if (!is_current()) return;  // dropped while loading
    auto it = partitions_.find(partition);
    for (auto& [id, g] : loaded) {
      if (tombstoned.count(id) && g->offsets().empty() && !g->has_pending_txn_offsets()) continue;
      groups_[id] = g;
      ++groups;
    }
    it->second.open_txns = std::move(open_txns);
    // Markers written while loading that the load did not read.
    for (auto& m : it->second.markers_during_load)
      if (m.second.first >= loaded_end) late_markers.push_back(m);
    it->second.markers_during_load.clear();
    it->second.state = PartitionState::kLoaded;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    log()->log(records > 0 ? spdlog::level::info : spdlog::level::debug, "Finished loading offsets and group metadata from {}-{} in {} ms ({} records, {} groups)", kOffsetsTopic,
                partition, ms, records, groups);
  }
  for (const auto& [pid, m] : late_markers) end_txn(partition, pid, m.second, m.first);
}

// --- the group map ---

std::shared_ptr<Group> GroupCoordinator::find(const std::string& group_id) const {
  std::lock_guard lock(mu_);
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second;
}

std::shared_ptr<Group> GroupCoordinator::get_or_create(const std::string& group_id) {
  std::lock_guard lock(mu_);
  auto& g = groups_[group_id];
  if (!g) g = std::make_shared<Group>(group_id, partition_for(group_id), now());
  return g;
}

void GroupCoordinator::erase_if_dead(const std::shared_ptr<Group>& group) {
  if (group->state() != GroupState::kDead) return;
  std::lock_guard lock(mu_);
  auto it = groups_.find(group->id());
  if (it != groups_.end() && it->second == group) groups_.erase(it);
}

std::vector<std::shared_ptr<Group>> GroupCoordinator::all_groups() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<Group>> out;
  out.reserve(groups_.size());
  for (const auto& [_, g] : groups_) out.push_back(g);
  return out;
}

void GroupCoordinator::tick() {
  int64_t t = now();
  for (auto& g : all_groups()) {
    Deferred later;
    std::lock_guard lock(g->mu);
    check_deadlines(*g, t, later);
  }
  bool retention_due = false;
  {
    std::lock_guard lock(mu_);
    if (t - last_retention_check_ms_ >= config_.retention_check_interval_ms) {
      last_retention_check_ms_ = t;
      retention_due = true;
    }
  }
  if (retention_due) expire_offsets(t);
}

// --- admin ---

ErrorCode GroupCoordinator::list_groups(const std::set<GroupState>& states, std::vector<GroupListing>& out) const {
  ErrorCode error = ErrorCode::NONE;
  {
    std::lock_guard lock(mu_);
    for (const auto& [_, p] : partitions_)
      if (p.state == PartitionState::kLoading) error = ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
  }
  for (const auto& g : all_groups()) {
    std::lock_guard lock(g->mu);
    if (g->state() == GroupState::kDead) continue;
    if (!states.empty() && !states.count(g->state())) continue;
    out.push_back({g->id(), g->protocol_type().value_or(""), g->state()});
  }
  return error;
}

GroupDescription GroupCoordinator::describe(const std::string& group_id) {
  GroupDescription d;
  d.error = check(group_id);
  if (d.error != ErrorCode::NONE) return d;
  auto g = find(group_id);
  if (!g) return d;  // Kafka describes an unknown group as Dead, no error
  std::lock_guard lock(g->mu);
  d.state = state_name(g->state());
  d.protocol_type = g->protocol_type().value_or("");
  bool stable = g->state() == GroupState::kStable;
  if (stable) d.protocol = g->protocol_name().value_or("");
  for (const auto& [id, m] : g->members()) {
    MemberDescription md{id, m.group_instance_id, m.client_id, m.client_host, {}, {}};
    if (stable) {
      if (const auto* meta = m.metadata_for(d.protocol)) md.metadata = *meta;
      md.assignment = m.assignment;
    }
    d.members.push_back(std::move(md));
  }
  return d;
}

void GroupCoordinator::delete_group(const std::string& group_id, std::function<void(ErrorCode)> done) {
  if (group_id.empty()) return done(ErrorCode::INVALID_GROUP_ID);
  if (auto e = check(group_id); e != ErrorCode::NONE) return done(e);
  auto g = find(group_id);
  if (!g) return done(ErrorCode::GROUP_ID_NOT_FOUND);
  Deferred later;
  std::lock_guard lock(g->mu);
  auto fail = [&](ErrorCode e) { later.add([done, e] { done(e); }); };
  if (g->state() == GroupState::kDead) return fail(ErrorCode::GROUP_ID_NOT_FOUND);
  if (g->state() != GroupState::kEmpty) return fail(ErrorCode::NON_EMPTY_GROUP);
  std::vector<CoordinatorRecord> records;
  for (const auto& [tp, _] : g->offsets())
    records.push_back(CoordinatorRecord::offset_commit(group_id, tp.first, tp.second, std::nullopt));
  // Pending transactional offsets go too (Kafka's deleteAllOffsets): the
  // tombstone drops them, and a later COMMIT marker finds nothing.
  for (const auto& tp : g->pending_txn_partitions())
    if (!g->offsets().count(tp))
      records.push_back(CoordinatorRecord::offset_commit(group_id, tp.first, tp.second, std::nullopt));
  records.push_back(CoordinatorRecord::group_metadata(group_id, std::nullopt));
  write(*g, records, later, [this, done, records](Group& g, const AppendOutcome& out, Deferred& replies) {
    if (out.error == ErrorCode::NONE) {
      for (const auto& rec : records)
        if (rec.kind == CoordinatorRecord::Kind::kOffsetCommit)
          g.apply_offset({rec.topic, rec.partition}, std::nullopt, out.last_offset);
      // A member that joined while the tombstone was on its way keeps the
      // group: its next metadata write supersedes the tombstone.
      if (g.state() == GroupState::kEmpty) {
        g.transition(GroupState::kDead, now());
        erase_if_dead(g.shared_from_this());
      }
    }
    replies.add([done, e = out.error] { done(e); });
  });
}

// --- writes ---

void GroupCoordinator::write(Group& g, std::vector<CoordinatorRecord> records, Deferred& later, StoredCallback stored) {
  std::shared_ptr<Group> group = g.shared_from_this();
  const int64_t t = now();
  // After the group lock is released: the append may complete at once, on
  // this thread, and `stored` takes the lock.
  later.add([this, group, records = std::move(records), t, stored = std::move(stored)] {
    log_.append(group->partition(), records, t, [group, stored](AppendOutcome out) {
      Deferred replies;  // declared first: runs after the lock is released
      std::lock_guard lock(group->mu);
      stored(*group, out, replies);
    });
  });
}

}  // namespace samsa::broker::group
