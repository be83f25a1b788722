#include "samsa/broker/replica/replication_quota.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <string>

#include "samsa/broker/dynamic_broker_config.h"

namespace samsa::broker::replica {

namespace {

constexpr const char* kLeaderRate = "leader.replication.throttled.rate";
constexpr const char* kFollowerRate = "follower.replication.throttled.rate";
constexpr const char* kLeaderReplicas = "leader.replication.throttled.replicas";
constexpr const char* kFollowerReplicas = "follower.replication.throttled.replicas";

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

std::optional<int64_t> parse_long(std::string_view s) {
  s = trim(s);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

ReplicationQuota::ReplicationQuota(Clock now_ms) : now_ms_(now_ms ? std::move(now_ms) : Clock(steady_ms)) {
  last_ms_ = now_ms_();
}

void ReplicationQuota::set_rate(int64_t bytes_per_second) {
  std::lock_guard lock(mu_);
  if (bytes_per_second < 0) bytes_per_second = 0;
  if (bytes_per_second == rate_) return;
  rate_ = bytes_per_second;
  // A new rate starts with a full second's worth.
  tokens_ = rate_ == kUnlimited ? 0 : static_cast<double>(rate_);
  last_ms_ = now_ms_();
}

int64_t ReplicationQuota::rate() const {
  std::lock_guard lock(mu_);
  return rate_;
}

void ReplicationQuota::refill_locked(int64_t now) {
  if (now <= last_ms_) return;
  tokens_ = std::min<double>(static_cast<double>(rate_),
                             tokens_ + static_cast<double>(rate_) * static_cast<double>(now - last_ms_) / 1000.0);
  last_ms_ = now;
}

bool ReplicationQuota::exceeded() {
  std::lock_guard lock(mu_);
  if (rate_ == kUnlimited) return false;
  refill_locked(now_ms_());
  return tokens_ < 1.0;
}

int64_t ReplicationQuota::allowance() {
  std::lock_guard lock(mu_);
  if (rate_ == kUnlimited) return kUnlimited;
  refill_locked(now_ms_());
  return tokens_ < 1.0 ? 0 : static_cast<int64_t>(tokens_);
}

void ReplicationQuota::record(int64_t bytes) {
  std::lock_guard lock(mu_);
  if (rate_ == kUnlimited || bytes <= 0) return;
  refill_locked(now_ms_());
  // At most one second of debt, so a huge fetch cannot stall replication
  // for long after it.
  tokens_ = std::max<double>(-static_cast<double>(rate_), tokens_ - static_cast<double>(bytes));
}

bool names_replica(std::string_view value, int32_t partition, int32_t broker) {
  value = trim(value);
  if (value == "*") return true;
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = trim(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    size_t colon = item.find(':');
    if (colon == std::string_view::npos) continue;
    auto p = parse_long(item.substr(0, colon));
    auto b = parse_long(item.substr(colon + 1));
    if (p && b && *p == partition && *b == broker) return true;
  }
  return false;
}

ReplicationQuotas::ReplicationQuotas(int32_t broker_id, ReplicationQuota::Clock now_ms)
    : broker_id_(broker_id), leader_(now_ms), follower_(now_ms) {}

bool ReplicationQuotas::throttled(const MetadataImage& image, std::string_view topic, int32_t partition,
                                  const char* key) const {
  const ConfigMap* configs = image.config(ConfigResourceType::kTopic, topic);
  if (configs == nullptr) return false;
  auto it = configs->find(key);
  return it != configs->end() && names_replica(it->second, partition, broker_id_);
}

bool ReplicationQuotas::leader_throttled(const MetadataImage& image, std::string_view topic, int32_t partition,
                                         bool follower_in_sync) {
  if (follower_in_sync || leader_.rate() == ReplicationQuota::kUnlimited) return false;
  return throttled(image, topic, partition, kLeaderReplicas);
}

bool ReplicationQuotas::leader_should_throttle(const MetadataImage& image, std::string_view topic,
                                               int32_t partition, bool follower_in_sync) {
  return leader_throttled(image, topic, partition, follower_in_sync) && leader_.exceeded();
}

int64_t ReplicationQuotas::follower_allowance(const MetadataImage& image, std::string_view topic, int32_t partition,
                                              bool in_sync) {
  if (in_sync || follower_.rate() == ReplicationQuota::kUnlimited) return ReplicationQuota::kUnlimited;
  if (!throttled(image, topic, partition, kFollowerReplicas)) return ReplicationQuota::kUnlimited;
  return follower_.allowance();
}

namespace {
bool in_isr(const MetadataImage& image, const std::string& topic, int32_t partition, int32_t broker) {
  const TopicImage* t = image.topic(topic);
  const PartitionImage* p = t != nullptr ? t->partition(partition) : nullptr;
  return p != nullptr && std::find(p->isr.begin(), p->isr.end(), broker) != p->isr.end();
}
}  // namespace

std::function<int64_t(const std::string&, int32_t)> ReplicationQuotas::follower_allowance_fn(
    const MetadataCache& metadata) {
  return [this, &metadata](const std::string& topic, int32_t partition) {
    auto image = metadata.current();
    return follower_allowance(*image, topic, partition, in_isr(*image, topic, partition, broker_id_));
  };
}

std::function<void(const std::string&, int32_t, int64_t)> ReplicationQuotas::follower_record_fn(
    const MetadataCache& metadata) {
  return [this, &metadata](const std::string& topic, int32_t partition, int64_t bytes) {
    auto image = metadata.current();
    if (follower_allowance(*image, topic, partition, in_isr(*image, topic, partition, broker_id_)) !=
        ReplicationQuota::kUnlimited)
      follower_.record(bytes);
  };
}

std::shared_ptr<Reconfigurable> ReplicationQuotas::reconfigurable() {
  auto rate_of = [](const EffectiveValues& values, const char* key) {
    auto it = values.find(key);
    if (it == values.end() || !it->second) return ReplicationQuota::kUnlimited;
    return parse_long(*it->second).value_or(ReplicationQuota::kUnlimited);
  };
  return make_reconfigurable(
      {kLeaderRate, kFollowerRate},
      [this, rate_of](const EffectiveValues& values) {
        leader_.set_rate(rate_of(values, kLeaderRate));
        follower_.set_rate(rate_of(values, kFollowerRate));
      },
      [](std::string_view, std::string_view value) -> std::optional<std::string> {
        auto v = parse_long(value);
        if (!v || *v < 0) return "Invalid value " + std::string(value) + ": must be a non-negative long";
        return std::nullopt;
      });
}

}  // namespace samsa::broker::replica
