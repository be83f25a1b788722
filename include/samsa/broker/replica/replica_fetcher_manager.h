#pragma once
// The follower side of replication (Kafka's ReplicaFetcherManager and
// ReplicaFetcherThread): for every partition this broker follows, a fetcher
// thread fetches from the leader's inter-broker listener with Fetch v12+
// (replica id / ReplicaState with this broker's epoch, LastFetchedEpoch,
// fetch sessions), appends what it gets through Partition::append_as_follower,
// truncates on a diverging epoch (or, for a leader that does not answer
// one, OffsetsForLeaderEpoch), restarts below the leader's log start, and
// passes the leader's high watermark and log start on. Partitions of one
// leader are spread over num.replica.fetchers threads by hash.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "samsa/protocol/uuid.h"

namespace samsa::broker::replica {

class Partition;

struct FollowTarget {
  std::string topic;
  protocol::Uuid topic_id;
  int32_t partition = -1;
  int32_t leader_id = -1;
  int32_t leader_epoch = -1;  // the fetcher sends it as current_leader_epoch
};

struct ReplicaFetcherOptions {
  int32_t broker_id = -1;
  int32_t num_fetchers = 1;              // num.replica.fetchers
  int32_t fetch_max_wait_ms = 500;       // replica.fetch.wait.max.ms
  int32_t fetch_min_bytes = 1;           // replica.fetch.min.bytes
  int32_t fetch_max_bytes = 10485760;    // replica.fetch.response.max.bytes
  int32_t partition_max_bytes = 1048576; // replica.fetch.max.bytes
  int32_t backoff_ms = 1000;             // replica.fetch.backoff.ms
  int32_t socket_timeout_ms = 30000;     // replica.socket.timeout.ms
  std::optional<std::string> rack;       // broker.rack (sent as rack_id)
  // This broker's epoch (KIP-903 ReplicaState.ReplicaEpoch); -1 before registration.
  std::function<int64_t()> broker_epoch;
  // The leader's inter-broker endpoint (inter.broker.listener.name) from the
  // current metadata image; nullopt while unknown or fenced.
  std::function<std::optional<std::pair<std::string, uint16_t>>(int32_t broker_id)> endpoint;
  // The hosted partition, or nullptr once removed.
  std::function<std::shared_ptr<Partition>(const std::string& topic, int32_t partition)> partition;
  // Follower throttle (follower.replication.throttled.rate for throttled
  // replicas): bytes this fetch may take now; unset: unthrottled.
  std::function<int64_t(const std::string& topic, int32_t partition)> throttle_allowance;
  // Bytes appended for a partition (so the throttle counts what it let in).
  std::function<void(const std::string& topic, int32_t partition, int64_t bytes)> throttle_record;
};

class ReplicaFetcherManager {
 public:
  explicit ReplicaFetcherManager(ReplicaFetcherOptions options);
  ~ReplicaFetcherManager();  // shutdown()

  // Starts following (or, for a new leader / epoch, re-targets) these
  // partitions; the fetch starts at the partition's log end.
  void add_partitions(const std::vector<FollowTarget>& targets);
  void remove_partitions(const std::vector<std::pair<std::string, int32_t>>& partitions);
  // Stops every fetcher thread; in-flight fetches are abandoned.
  void shutdown();

  // For tests and DescribeReplicaLogDirs-like reporting.
  size_t partition_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace samsa::broker::replica
