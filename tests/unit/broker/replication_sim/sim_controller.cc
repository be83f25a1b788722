// The simulated controller: metadata images, broker fencing, leader election
// from the ISR and AlterPartition with Kafka's validation.
#include <algorithm>

#include "sim_world.h"

namespace samsa::broker::replica::sim {

std::shared_ptr<const MetadataImage> Sim::image() const {
  auto m = std::make_shared<MetadataImage>();
  for (int i = 1; i <= kNodes; ++i) {
    BrokerRegistration b;
    b.id = i;
    b.fenced = fenced_.at(i);
    b.epoch = broker_epoch_.at(i);
    m->brokers[i] = b;
  }
  auto topic = std::make_shared<TopicImage>();
  topic->name = kTopic;
  topic->id = topic_id_;
  topic->partitions[0] = img_;
  auto topics = std::make_shared<TopicsImage>();
  topics->by_id[topic_id_] = topic;
  topics->by_name[kTopic] = topic;
  m->topics = topics;
  return m;
}

void Sim::controller_tick() {
  const int64_t now = clock_->now_ms();
  for (int i = 1; i <= kNodes; ++i) {
    Node& n = nodes_[i];
    const bool reachable = n.alive && !n.isolated;
    if (reachable && !n.registered && fenced_[i]) {
      // A restarted broker registers once its old session is over.
      n.broker_epoch = broker_epoch_[i] = next_broker_epoch_++;
      n.registered = true;
    }
    if (reachable && n.registered) last_heartbeat_[i] = now;
    if (reachable && n.registered && fenced_[i] && n.image_version == version_) unfence(i);
    if (!fenced_[i] && now - last_heartbeat_[i] > kSessionMs) fence(i);
  }
}

void Sim::fence(int32_t id) {
  fenced_[id] = true;
  trace("controller fences %d", id);
  const PartitionImage before = img_;
  // The last ISR member stays (Kafka keeps it so it can lead again).
  if (img_.isr.size() > 1) std::erase(img_.isr, id);
  if (img_.leader == id) elect();
  if (img_ != before) ++img_.partition_epoch;
  publish();
}

void Sim::unfence(int32_t id) {
  fenced_[id] = false;
  trace("controller unfences %d (broker epoch %lld)", id, static_cast<long long>(broker_epoch_[id]));
  if (img_.leader < 0) {
    elect();
    ++img_.partition_epoch;
  }
  publish();
}

// Kafka's rule with unclean election off: the first replica in
// assignment order that is in the ISR and not fenced; none: offline.
void Sim::elect() {
  int32_t chosen = -1;
  for (int32_t r : img_.replicas) {
    if (std::count(img_.isr.begin(), img_.isr.end(), r) && !fenced_[r]) {
      chosen = r;
      break;
    }
  }
  if (chosen != img_.leader) {
    img_.leader = chosen;
    ++img_.leader_epoch;
    ++res_.elections;
    trace("controller elects %d (leader epoch %d, isr %s)", chosen, img_.leader_epoch, isr_text().c_str());
  }
}

// AlterPartition, validated as Kafka's controller does.
ErrorCode Sim::alter_partition(int32_t from, const IsrUpdate& u) {
  if (img_.leader != from) return ErrorCode::NOT_LEADER_OR_FOLLOWER;
  if (u.leader_epoch != img_.leader_epoch) return ErrorCode::FENCED_LEADER_EPOCH;
  if (u.partition_epoch != img_.partition_epoch) return ErrorCode::INVALID_UPDATE_VERSION;
  std::vector<int32_t> isr;
  for (const auto& [id, epoch] : u.new_isr) {
    const bool added = !std::count(img_.isr.begin(), img_.isr.end(), id);
    if (id < 1 || id > kNodes) return ErrorCode::INELIGIBLE_REPLICA;
    if (added && (fenced_[id] || (epoch != -1 && epoch != broker_epoch_[id]))) return ErrorCode::INELIGIBLE_REPLICA;
    isr.push_back(id);
  }
  if (!std::count(isr.begin(), isr.end(), from)) return ErrorCode::INVALID_REQUEST;
  img_.isr = isr;
  ++img_.partition_epoch;
  publish();
  trace("controller: isr of leader %d now %s", from, isr_text().c_str());
  return ErrorCode::NONE;
}

void Sim::on_isr_update(int32_t from, std::shared_ptr<IsrUpdate> u) {
  std::weak_ptr<Partition> target = u->partition_ref.expired() ? nodes_[from].part : u->partition_ref.lock();
  auto answer = [target, u](ErrorCode e, std::optional<PartitionImage> p) {
    if (auto part = target.lock()) part->on_isr_update_result(*u, e, p ? &*p : nullptr);
  };
  auto timeout = [answer] { answer(ErrorCode::REQUEST_TIMED_OUT, std::nullopt); };
  net_.send(reachable(from), [this, from, u, answer, timeout] {
    ErrorCode e = alter_partition(from, *u);
    std::optional<PartitionImage> result;
    if (e == ErrorCode::NONE) result = img_;
    net_.send(reachable(from), [answer, e, result] { answer(e, result); }, timeout);
  }, timeout);
}

std::string Sim::isr_text() const {
  std::string s = "[";
  for (size_t i = 0; i < img_.isr.size(); ++i) s += (i ? "," : "") + std::to_string(img_.isr[i]);
  return s + "]";
}

}  // namespace samsa::broker::replica::sim
