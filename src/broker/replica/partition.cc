// Partition: construction and the read-only accessors. The leader side
// (metadata, appends, follower positions, ISR) lives in partition_leader.cc,
// the follower side (replicated appends, truncation) in partition_follower.cc.
#include "samsa/broker/replica/partition.h"

namespace samsa::broker::replica {

Partition::Partition(std::string topic, int32_t index, protocol::Uuid topic_id, std::shared_ptr<log::Log> log,
                     int32_t local_broker_id, PartitionHooks hooks)
    : topic_(std::move(topic)),
      index_(index),
      topic_id_(topic_id),
      log_(std::move(log)),
      local_id_(local_broker_id),
      hooks_(std::move(hooks)) {}

Role Partition::role() const {
  std::lock_guard lock(mu_);
  return role_;
}

int32_t Partition::leader_id() const {
  std::lock_guard lock(mu_);
  return leader_id_;
}

int32_t Partition::leader_epoch() const {
  std::lock_guard lock(mu_);
  return leader_epoch_;
}

int32_t Partition::partition_epoch() const {
  std::lock_guard lock(mu_);
  return partition_epoch_;
}

std::vector<int32_t> Partition::isr() const {
  std::lock_guard lock(mu_);
  return isr_;
}

std::vector<int32_t> Partition::maximal_isr() const {
  std::lock_guard lock(mu_);
  return maximal_isr_;
}

int32_t Partition::min_insync_replicas() const {
  std::lock_guard lock(mu_);
  return min_insync_;
}

}  // namespace samsa::broker::replica
