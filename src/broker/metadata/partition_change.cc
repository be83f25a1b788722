// Kafka's PartitionChangeBuilder (ONLINE / PREFERRED / UNCLEAN elections,
// KIP-966 eligible leader replicas with the "last known leader" kept in
// LastKnownElr). Reassignment completion is not handled here.
#include "samsa/broker/metadata/partition_change.h"

#include <algorithm>
#include <set>

#include "samsa/broker/topic_config.h"

namespace samsa::broker::metadata {

namespace {

constexpr int16_t kIbp40Iv1 = 23;  // PartitionChangeRecord v2: ELR fields
constexpr int32_t kNoLeader = -1;
constexpr int32_t kNoLeaderChange = -2;
constexpr int8_t kRecovering = 1;

bool contains(const std::vector<int32_t>& v, int32_t id) { return std::find(v.begin(), v.end(), id) != v.end(); }

std::vector<int32_t> without(const std::vector<int32_t>& v, const std::vector<int32_t>& drop) {
  std::vector<int32_t> out;
  for (int32_t r : v)
    if (!contains(drop, r)) out.push_back(r);
  return out;
}

bool topic_bool(const std::string& name, const ConfigMap& overrides, const BrokerConfigLayers& layers) {
  auto entry = describe_topic_config(name, overrides, layers);
  return entry && entry->value && *entry->value == "true";
}

class Builder {
 public:
  Builder(const PartitionImage& p, const PartitionChangeRequest& req, const PartitionChangeSettings& s,
          std::function<bool(int32_t)> acceptable)
      : p_(p), req_(req), s_(s), acceptable_(std::move(acceptable)) {
    isr_ = req.target_isr ? *req.target_isr : p.isr;
    elr_ = p.eligible_leader_replicas;
    last_known_elr_ = p.last_known_elr;
  }

  protocol::PartitionChangeRecord build() {
    protocol::PartitionChangeRecord r;
    populate_elr();
    elect(r);
    update_record_elr(r);
    // Without ELR the ISR never becomes empty: its last member is the only
    // replica known to hold every committed record.
    if (!r.isr && (!isr_.empty() || s_.elr) && isr_ != p_.isr) r.isr = isr_;
    update_last_known_leader(r);
    if (req_.target_leader_recovery_state && *req_.target_leader_recovery_state != p_.leader_recovery_state &&
        r.leader_recovery_state == -1)
      r.leader_recovery_state = *req_.target_leader_recovery_state;
    return r;
  }

 private:
  bool unclean_shutdown(int32_t r) const { return contains(req_.unclean_shutdown_replicas, r); }
  bool acceptable(int32_t r) const { return r >= 0 && !unclean_shutdown(r) && acceptable_(r); }
  bool valid_leader(int32_t r) const {
    return (contains(isr_, r) || (isr_.empty() && contains(elr_, r))) && acceptable(r);
  }

  // The members that leave an ISR smaller than min.insync.replicas become
  // eligible leaders (they had every committed record when they left).
  void populate_elr() {
    if (!s_.elr) return;
    if (static_cast<int32_t>(isr_.size()) >= s_.min_isr) {
      elr_.clear();
      last_known_elr_.clear();
      return;
    }
    std::set<int32_t> candidates(elr_.begin(), elr_.end());
    candidates.insert(p_.isr.begin(), p_.isr.end());
    elr_.clear();
    for (int32_t r : candidates)
      if (!contains(isr_, r) && !unclean_shutdown(r)) elr_.push_back(r);
    candidates.insert(last_known_elr_.begin(), last_known_elr_.end());
    last_known_elr_.clear();
    for (int32_t r : candidates)
      if (!contains(isr_, r) && !contains(elr_, r)) last_known_elr_.push_back(r);
  }

  struct Choice {
    int32_t node = kNoLeader;
    bool unclean = false;
  };

  Choice choose() const {
    if (req_.election == Election::kPreferred && !p_.replicas.empty() && valid_leader(p_.replicas.front()))
      return {p_.replicas.front(), false};
    if (valid_leader(p_.leader)) return {p_.leader, false};
    for (int32_t r : p_.replicas)
      if (valid_leader(r)) return {r, false};
    if (!s_.unclean_election) return {};
    // Unclean: the last leader first (it had the most), then any live replica.
    if (s_.elr && isr_.empty() && elr_.empty() && p_.last_known_elr.size() == 1 &&
        acceptable(p_.last_known_elr.front()))
      return {p_.last_known_elr.front(), true};
    for (int32_t r : p_.replicas)
      if (acceptable(r)) return {r, true};
    return {};
  }

  void elect(protocol::PartitionChangeRecord& r) {
    Choice c = choose();
    if (c.node == p_.leader) return;
    if (contains(elr_, c.node)) {
      isr_ = {c.node};
      elr_ = without(elr_, {c.node});
    }
    r.leader = c.node;
    if (c.unclean) {
      // The new leader may lack committed records: it alone is the ISR and
      // it recovers (Kafka's LeaderRecoveryState) before others join.
      r.isr = std::vector<int32_t>{c.node};
      if (p_.leader_recovery_state != kRecovering) r.leader_recovery_state = kRecovering;
    }
  }

  void update_record_elr(protocol::PartitionChangeRecord& r) {
    const bool clean = !r.isr.has_value();
    if (!clean || !s_.elr) {
      elr_.clear();
      last_known_elr_.clear();
    }
    if (elr_ != p_.eligible_leader_replicas) r.eligible_leader_replicas = elr_;
  }

  // LastKnownElr holds the leader of the moment the ISR became empty, and is
  // cleared once the partition has a leader again.
  void update_last_known_leader(protocol::PartitionChangeRecord& r) {
    if (!s_.elr) {
      if (!p_.last_known_elr.empty()) r.last_known_elr = std::vector<int32_t>{};
      return;
    }
    if (r.isr && r.isr->empty() && p_.leader >= 0 &&
        (p_.last_known_elr.size() != 1 || p_.last_known_elr.front() != p_.leader)) {
      r.last_known_elr = std::vector<int32_t>{p_.leader};
    } else if ((r.leader >= 0 || (p_.leader != kNoLeader && r.leader != kNoLeader)) && !p_.last_known_elr.empty()) {
      r.last_known_elr = std::vector<int32_t>{};
    }
  }

  const PartitionImage& p_;
  const PartitionChangeRequest& req_;
  const PartitionChangeSettings& s_;
  std::function<bool(int32_t)> acceptable_;
  std::vector<int32_t> isr_;
  std::vector<int32_t> elr_;
  std::vector<int32_t> last_known_elr_;
};

bool no_op(const protocol::PartitionChangeRecord& r) {
  return !r.isr && !r.eligible_leader_replicas && !r.last_known_elr && r.leader == kNoLeaderChange && !r.replicas &&
         !r.removing_replicas && !r.adding_replicas && r.leader_recovery_state == -1 && !r.directories;
}

}  // namespace

bool elr_enabled(const MetadataImage& image) {
  if (image.metadata_version < kIbp40Iv1) return false;
  auto it = image.features.find(kEligibleLeaderReplicasFeature);
  return it != image.features.end() && it->second >= 1;
}

PartitionChangeSettings partition_change_settings(const MetadataImage& image, const TopicImage& topic,
                                                  const ControllerDefaults& defaults) {
  PartitionChangeSettings s;
  static const ConfigMap kNone;
  const ConfigMap* overrides = image.config(ConfigResourceType::kTopic, topic.name);
  if (overrides == nullptr) overrides = &kNone;
  BrokerConfigLayers layers = controller_config_layers(image, defaults);
  if (auto e = describe_topic_config("min.insync.replicas", *overrides, layers); e && e->value) {
    try {
      s.min_isr = std::stoi(*e->value);
    } catch (const std::exception&) {
      s.min_isr = 1;
    }
  }
  if (!topic.partitions.empty()) {
    auto rf = static_cast<int32_t>(topic.partitions.begin()->second.replicas.size());
    if (rf > 0) s.min_isr = std::min(s.min_isr, rf);
  }
  s.unclean_election = topic_bool("unclean.leader.election.enable", *overrides, layers);
  s.elr = elr_enabled(image);
  return s;
}

bool active_broker(const MetadataImage& image, int32_t broker_id) {
  auto it = image.brokers.find(broker_id);
  return it != image.brokers.end() && !it->second.fenced && !it->second.in_controlled_shutdown;
}

std::optional<RecordAndVersion> build_partition_change(const MetadataImage& image, const protocol::Uuid& topic_id,
                                                       const PartitionImage& partition,
                                                       const PartitionChangeRequest& request,
                                                       const PartitionChangeSettings& settings) {
  auto acceptable = request.acceptable_leader;
  if (!acceptable) acceptable = [&image](int32_t id) { return active_broker(image, id); };
  protocol::PartitionChangeRecord r = Builder(partition, request, settings, std::move(acceptable)).build();
  if (no_op(r)) return std::nullopt;
  r.topic_id = topic_id;
  r.partition_id = partition.partition_id;
  return RecordAndVersion{std::move(r), partition_change_record_version(image.metadata_version)};
}

void merge_partition_change(PartitionImage& p, const protocol::PartitionChangeRecord& r) {
  if (r.replicas) p.replicas = *r.replicas;
  if (r.isr) p.isr = *r.isr;
  if (r.removing_replicas) p.removing_replicas = *r.removing_replicas;
  if (r.adding_replicas) p.adding_replicas = *r.adding_replicas;
  if (r.directories) p.directories = *r.directories;
  if (r.leader != kNoLeaderChange) {
    p.leader = r.leader;
    p.leader_epoch += 1;
  }
  if (r.leader_recovery_state != -1) p.leader_recovery_state = r.leader_recovery_state;
  if (r.eligible_leader_replicas) p.eligible_leader_replicas = *r.eligible_leader_replicas;
  if (r.last_known_elr) p.last_known_elr = *r.last_known_elr;
  p.partition_epoch += 1;
}

}  // namespace samsa::broker::metadata
