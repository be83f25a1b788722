#include "samsa/broker/replica/replica_manager.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/fetch/fetch_waiters.h"
#include "samsa/broker/replica/alter_partition_sender.h"
#include "samsa/broker/replica/delayed_produce.h"
#include "samsa/broker/scheduler.h"
#include "samsa/broker/topic_config.h"
#include "samsa/util/logging.h"

namespace samsa::broker {

namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.server.ReplicaManager");
  return l;
}

// Durable-mode group commits (log/flusher.h): as many fsyncs in flight as
// Kafka's default num.io.threads (8) would run inline; a partition has at
// most one, and more than a few at once gain nothing on one disk.
constexpr size_t kFlushThreads = 8;

bool same_layers(const BrokerConfigLayers& a, const BrokerConfigLayers& b) {
  return a.dynamic_broker == b.dynamic_broker && a.dynamic_default == b.dynamic_default &&
         a.static_broker == b.static_broker;
}

}  // namespace

ReplicaManager::ReplicaManager(const BrokerConfig& config, int32_t node_id,
                                   std::function<void(const std::string&, const std::string&, bool)> on_dir_offline)
    : config_(config), node_id_(node_id) {
  log::LogManagerConfig lm;
  lm.on_dir_offline = std::move(on_dir_offline);
  lm.log_dirs = config.log_dirs;
  lm.num_recovery_threads_per_data_dir = config.num_recovery_threads_per_data_dir;
  // Logs found on disk start with the static defaults; apply() gives each
  // its topic's effective config before any client can reach it.
  BrokerConfigLayers static_only;
  static_only.static_broker = static_broker_layer(config);
  lm.default_config = effective_topic_config({}, static_only).log;
  lm.cleaner.enable = config.log_cleaner_enable && config.log_cleaner_threads > 0;
  lm.cleaner.backoff_ms = config.log_cleaner_backoff_ms;
  lm.cleaner.dedupe_buffer_size = config.log_cleaner_dedupe_buffer_size;
  log_background_ = std::make_unique<util::SerialExecutor>("log-background", 10);
  lm.background = [ex = log_background_.get()](std::function<void()> job) { ex->post(std::move(job)); };
  lm.background_after = [ex = log_background_.get()](int64_t delay_ms, std::function<void()> job) {
    ex->post_after(std::chrono::milliseconds(delay_ms), std::move(job));
  };
  // Bounded however many partitions there are; several partitions' fsyncs
  // overlap on the disk (and in the file system's journal commits).
  flusher_ = std::make_unique<log::Flusher>(kFlushThreads);
  lm.flusher = [f = flusher_.get()](std::function<void()> job) { f->post(std::move(job)); };
  logs_ = std::make_unique<log::LogManager>(std::move(lm));
}

ReplicaManager::~ReplicaManager() = default;

void ReplicaManager::wire(ReplicaManagerWiring wiring) { wiring_ = std::move(wiring); }

std::shared_ptr<replica::Partition> ReplicaManager::make_partition(const std::string& topic, int32_t index,
                                                                   const protocol::Uuid& topic_id,
                                                                   std::shared_ptr<log::Log> log) {
  replica::PartitionHooks hooks;
  hooks.on_progress = wiring_.on_progress;
  hooks.now_ms = wiring_.now_ms;
  if (auto* sender = wiring_.alter_partition) {
    hooks.send_isr_update = [sender](std::shared_ptr<replica::IsrUpdate> update) {
      sender->submit(update, [update](replica::IsrUpdateResult r) {
        if (auto p = update->partition_ref.lock())
          p->on_isr_update_result(*update, r.error, r.error == protocol::ErrorCode::NONE ? &r.partition : nullptr);
      });
    };
  }
  auto& l = *log;
  auto partition =
      std::make_shared<replica::Partition>(topic, index, topic_id, std::move(log), node_id_, std::move(hooks));
  l.set_durable_listener([weak = std::weak_ptr<replica::Partition>(partition)] {
    if (auto p = weak.lock()) p->on_durable();
  });
  return partition;
}

void ReplicaManager::startup() { logs_->startup(); }

void ReplicaManager::shutdown() { logs_->shutdown(); }

void ReplicaManager::schedule_periodic_tasks(Scheduler& scheduler) {
  const int64_t lag = config_.replica_lag_time_max_ms;
  scheduler.schedule_periodic(std::chrono::milliseconds(std::max<int64_t>(lag / 2, 1)), [this] { maybe_shrink_isr(); });
  scheduler.schedule_periodic(
      std::chrono::milliseconds(std::max<int64_t>(config_.replica_high_watermark_checkpoint_interval_ms, 1)),
      [this] { logs_->checkpoint_high_watermarks(); });
}

void ReplicaManager::maybe_shrink_isr() {
  for (const auto& p : partitions()) p->maybe_shrink_isr(config_.replica_lag_time_max_ms);
}

void ReplicaManager::apply(const MetadataImage& image) {
  std::lock_guard lock(apply_mu_);
  auto current = hosted_.load();
  auto next = std::make_shared<Map>();
  BrokerConfigLayers layers = broker_config_layers(image, node_id_, config_);
  const bool layers_changed = !applied_layers_ || !same_layers(*applied_layers_, layers);
  static const ConfigMap kNoOverrides;
  std::unordered_map<std::string, TopicConfigState> applied;
  // New partitions are created together (in parallel, log_manager.h): a
  // CreateTopics of thousands of partitions is not thousands of serial fsyncs.
  std::vector<log::LogManager::NewLog> to_create;
  struct Created {
    Map::key_type key;
    const PartitionImage* image;
    int32_t min_insync;
  };
  std::vector<Created> created_for;
  std::vector<replica::FollowTarget> follow;
  std::vector<std::pair<std::string, int32_t>> unfollow;
  constexpr int kRoleChangesLogged = 20;
  int role_changes = 0;
  auto transition = [&](const std::string& name, const TopicImage& topic, const PartitionImage& p,
                        replica::Transition t) {
    // One line per leadership change, as Kafka logs them, but not 100,000
    // lines for a start-up or a large CreateTopics.
    if ((t == replica::Transition::kBecameLeader || t == replica::Transition::kBecameFollower ||
         t == replica::Transition::kLeaderChanged) &&
        ++role_changes <= kRoleChangesLogged)
      log()->info("[Partition {}-{} broker={}] {} in leader epoch {} (leader {}, ISR [{}])", name, p.partition_id,
                  node_id_, t == replica::Transition::kBecameLeader ? "Leader" : "Follower", p.leader_epoch, p.leader,
                  fmt::join(p.isr, ","));
    switch (t) {
      case replica::Transition::kBecameFollower:
      case replica::Transition::kLeaderChanged:
        if (p.leader >= 0) follow.push_back({name, topic.id, p.partition_id, p.leader, p.leader_epoch});
        else unfollow.emplace_back(name, p.partition_id);  // no leader to fetch from
        break;
      case replica::Transition::kBecameLeader:
      case replica::Transition::kRemoved:
        unfollow.emplace_back(name, p.partition_id);
        break;
      default:
        break;
    }
  };
  // A topic whose TopicImage is the one applied last time (images share
  // unchanged topics), under the same broker registrations and config, has
  // nothing new for its partitions: with 100,000 partitions an image must
  // not cost a walk through every partition's state.
  std::vector<std::tuple<int32_t, int64_t, bool, bool>> brokers;
  brokers.reserve(image.brokers.size());
  for (const auto& [id, b] : image.brokers) brokers.emplace_back(id, b.epoch, b.fenced, b.in_controlled_shutdown);
  const bool brokers_same = applied_topics_image_ != nullptr && brokers == applied_brokers_;
  for (const auto& [name, topic] : image.topics->by_name) {
    const ConfigMap* found = image.config(ConfigResourceType::kTopic, name);
    const ConfigMap& overrides = found ? *found : kNoOverrides;
    // A topic's config is derived once per change, not once per partition.
    auto previous = applied_topics_.find(name);
    bool known = previous != applied_topics_.end();
    bool changed = false;  // the open logs need update_config
    TopicConfigState state;
    if (layers_changed || !known || previous->second.overrides != overrides) {
      state = TopicConfigState{overrides, effective_topic_config(overrides, layers)};
      changed = !known || !(previous->second.effective == state.effective);
    } else {
      state = std::move(previous->second);
    }
    const EffectiveTopicConfig& config = state.effective;
    bool same_topic = false;
    if (brokers_same && !changed) {
      auto before = applied_topics_image_->by_name.find(name);
      same_topic = before != applied_topics_image_->by_name.end() && before->second == topic;
    }
    for (const auto& [index, p] : topic->partitions) {
      if (std::find(p.replicas.begin(), p.replicas.end(), node_id_) == p.replicas.end()) continue;
      auto key = std::make_pair(name, index);
      auto it = current->find(key);
      if (it != current->end() && it->second->topic_id() == topic->id) {
        const auto& partition = it->second;
        // Topic override and broker default changes reach the open logs.
        if (changed) partition->log()->update_config(config.log);
        if (!same_topic) transition(name, *topic, p, partition->apply_metadata(p, image, config.min_insync_replicas));
        next->emplace(std::move(key), partition);
      } else {
        to_create.push_back({name, index, topic->id, config.log});
        created_for.push_back({std::move(key), &p, config.min_insync_replicas});
      }
    }
    applied.emplace(name, std::move(state));
  }
  if (!to_create.empty()) {
    auto created = logs_->get_or_create_all(to_create);
    for (size_t i = 0; i < created.size(); ++i) {
      auto& [key, p, min_insync] = created_for[i];
      auto result = std::move(created[i]);
      if (!result && result.error().code == log::LogErrc::kInconsistentTopicId &&
          logs_->rename_stray(key.first, key.second)) {
        // A log of an older topic of the same name (deleted and created
        // again while this broker was down): kept as stray, as Kafka does.
        result = logs_->get_or_create(key.first, key.second, to_create[i].topic_id, to_create[i].config);
      }
      if (!result) {
        log()->error("Cannot open the log of {}-{}: {}", key.first, key.second, result.error().message);
        continue;
      }
      // A log loaded at start-up had the static defaults until now.
      (*result)->update_config(to_create[i].config);
      auto partition = make_partition(key.first, key.second, to_create[i].topic_id, std::move(*result));
      const TopicImage& topic = *image.topic(key.first);
      transition(key.first, topic, *p, partition->apply_metadata(*p, image, min_insync));
      next->emplace(std::move(key), std::move(partition));
    }
  }
  if (layers_changed && applied_layers_)
    log()->info("Broker log defaults changed: the configs of {} topics were derived again", applied.size());
  applied_layers_ = std::move(layers);
  applied_topics_ = std::move(applied);
  applied_topics_image_ = image.topics;
  applied_brokers_ = std::move(brokers);
  for (const auto& [key, hosted] : *current) {
    if (next->count(key)) continue;
    unfollow.emplace_back(key.first, key.second);
    log()->info("Deleting the log of {}-{}: the partition is gone from the metadata", key.first, key.second);
    logs_->remove(key.first, key.second);
  }
  // Logs found on disk at start-up that the metadata does not know: kept
  // under a "-stray" name as Kafka does, since a lost or stale metadata log
  // must not destroy data. Only the first image can find any (later logs
  // all come from here), and listing 100,000 logs on every metadata change
  // would cost the committing thread.
  if (!strays_checked_) {
    strays_checked_ = true;
    for (const auto& tp : logs_->partitions()) {
      if (!next->count({tp.topic, tp.partition})) logs_->rename_stray(tp.topic, tp.partition);
    }
  }
  hosted_.store(std::shared_ptr<const Map>(std::move(next)));
  if (role_changes > kRoleChangesLogged)
    log()->info("{} partitions changed leader or role ({} logged)", role_changes, kRoleChangesLogged);
  // Leaders stop fetching before followers start (Kafka's
  // applyDelta: makeLeaders, then makeFollowers).
  if (!unfollow.empty() && wiring_.remove_followers) wiring_.remove_followers(unfollow);
  if (!follow.empty() && wiring_.add_followers) wiring_.add_followers(follow);
}

std::shared_ptr<replica::Partition> ReplicaManager::get(const std::string& topic, int32_t partition) const {
  auto map = hosted_.load();
  auto it = map->find({topic, partition});
  return it == map->end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<replica::Partition>> ReplicaManager::partitions() const {
  auto map = hosted_.load();
  std::vector<std::shared_ptr<replica::Partition>> out;
  out.reserve(map->size());
  for (const auto& [key, p] : *map) out.push_back(p);
  return out;
}

void ReplicaManager::append_records(const std::string& topic, int32_t partition, std::vector<uint8_t> batch,
                                    int16_t required_acks, log::AppendOrigin origin, int64_t timeout_ms,
                                    std::function<void(replica::PartitionResult<log::AppendInfo>)> done) {
  append_records(topic, partition, std::move(batch), required_acks, origin, timeout_ms, std::move(done), std::nullopt);
}

void ReplicaManager::append_records(const std::string& topic, int32_t partition, std::vector<uint8_t> batch,
                                    int16_t required_acks, log::AppendOrigin origin, int64_t timeout_ms,
                                    std::function<void(replica::PartitionResult<log::AppendInfo>)> done,
                                    std::optional<uint64_t> verification_guard) {
  auto p = get(topic, partition);
  if (!p) return done(replica::PartitionError{protocol::ErrorCode::NOT_LEADER_OR_FOLLOWER});
  auto result = p->append_as_leader(std::span<uint8_t>(batch), required_acks, origin, verification_guard);
  // acks=all waits for the ISR, durable mode (flush.messages) for the fsync.
  const bool replicated = required_acks == -1;
  if (!result || (!replicated && !result->awaits_flush)) return done(std::move(result));
  const int64_t required = result->last_offset + 1;
  if (!wiring_.waiters) {
    // Nowhere to wait: answer as soon as it is there, or time out.
    auto status = replicated ? p->check_replicated(required) : std::optional(protocol::ErrorCode::NONE);
    if (status && *status == protocol::ErrorCode::NONE && result->awaits_flush) status = p->check_durable(required);
    if (status && *status == protocol::ErrorCode::NONE) return done(std::move(result));
    return done(replica::PartitionError{status.value_or(protocol::ErrorCode::REQUEST_TIMED_OUT)});
  }
  replica::await_replication(*wiring_.waiters, wiring_.scheduler, {{p, required, replicated, result->awaits_flush}},
                             timeout_ms,
                             [info = std::move(*result), done = std::move(done)](std::vector<protocol::ErrorCode> e) {
                               if (e[0] == protocol::ErrorCode::NONE) return done(info);
                               done(replica::PartitionError{e[0]});
                             });
}

}  // namespace samsa::broker
