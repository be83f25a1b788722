#pragma once
// Replication throttles (Kafka's ReplicationQuotaManager, as
// kafka-reassign-partitions --throttle sets them up):
//  - the rates are the dynamic broker configs
//    leader.replication.throttled.rate / follower.replication.throttled.rate
//    (bytes/s, default Long.MAX_VALUE = unthrottled);
//  - which partitions they apply to is the topic configs
//    leader.replication.throttled.replicas / follower.replication.throttled.replicas,
//    "*" or "partition:broker,..." naming the replicas on this broker.
// Only replicas outside the ISR are held back (a reassignment's new
// replicas catching up), so throttling never slows acks=all writes.
//
// The leader asks leader_should_throttle() before it reads for a follower
// fetch (a throttled partition gets no records while the quota is used up)
// and records what it sent; the follower's fetcher takes
// follower_allowance() as the bytes it may ask for, and records what it got.
//
// Threading: every method is thread-safe (fetch handlers and fetcher
// threads share the two buckets).
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "samsa/broker/metadata_image.h"

namespace samsa::broker {
class Reconfigurable;
}

namespace samsa::broker::replica {

// A byte-rate token bucket: refills at the rate, holds at most one second's
// worth, may go negative after a large fetch (the next ones then wait until
// it is paid back), as Kafka's windowed rate lets one fetch overshoot.
class ReplicationQuota {
 public:
  static constexpr int64_t kUnlimited = std::numeric_limits<int64_t>::max();
  using Clock = std::function<int64_t()>;  // monotonic milliseconds

  explicit ReplicationQuota(Clock now_ms = {});

  void set_rate(int64_t bytes_per_second);  // kUnlimited: off
  int64_t rate() const;
  // True while the bucket is empty (always false when unthrottled).
  bool exceeded();
  // Bytes that may be transferred now (kUnlimited when unthrottled).
  int64_t allowance();
  void record(int64_t bytes);

 private:
  void refill_locked(int64_t now);

  Clock now_ms_;
  mutable std::mutex mu_;
  int64_t rate_ = kUnlimited;
  double tokens_ = 0;
  int64_t last_ms_ = 0;
};

// Whether a throttled-replicas topic config value ("*", or comma-separated
// "partition:broker" pairs, spaces allowed) names `partition` on `broker`.
bool names_replica(std::string_view value, int32_t partition, int32_t broker);

class ReplicationQuotas {
 public:
  explicit ReplicationQuotas(int32_t broker_id, ReplicationQuota::Clock now_ms = {});

  ReplicationQuota& leader() { return leader_; }
  ReplicationQuota& follower() { return follower_; }

  // Leader side: whether the leader quota applies to this follower fetch
  // (a rate is set, the partition is listed for this broker, the follower
  // is outside the ISR); the bytes sent for it are then recorded.
  bool leader_throttled(const MetadataImage& image, std::string_view topic, int32_t partition,
                        bool follower_in_sync);
  // Kafka's shouldLeaderThrottle: throttled and the quota used up, so the
  // fetch gets no records now.
  bool leader_should_throttle(const MetadataImage& image, std::string_view topic, int32_t partition,
                              bool follower_in_sync);
  // Follower side: the bytes the next fetch of this partition may take
  // (0 while the quota is used up), kUnlimited when not throttled.
  int64_t follower_allowance(const MetadataImage& image, std::string_view topic, int32_t partition,
                             bool in_sync);

  // The follower side as the replica fetchers take it
  // (ReplicaFetcherOptions::throttle_allowance / throttle_record): whether
  // this broker is in the ISR comes from the current image of `metadata`,
  // which must outlive the functions.
  std::function<int64_t(const std::string& topic, int32_t partition)> follower_allowance_fn(
      const MetadataCache& metadata);
  std::function<void(const std::string& topic, int32_t partition, int64_t bytes)> follower_record_fn(
      const MetadataCache& metadata);

  // Applies the two rate keys from the dynamic broker configs (register it
  // with DynamicBrokerConfig::add_reconfigurable).
  std::shared_ptr<Reconfigurable> reconfigurable();

 private:
  bool throttled(const MetadataImage& image, std::string_view topic, int32_t partition, const char* key) const;

  const int32_t broker_id_;
  ReplicationQuota leader_;
  ReplicationQuota follower_;
};

}  // namespace samsa::broker::replica
