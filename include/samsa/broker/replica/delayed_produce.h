#pragma once
// Kafka's DelayedProduce: an acks=all append is answered once every
// partition it wrote has its high watermark past the append (or the ISR
// shrank below min.insync.replicas, or leadership moved), or when the
// request's timeout ends (REQUEST_TIMED_OUT for the partitions still
// waiting). In durable mode (flush.messages reached, Log::append_as_leader's
// awaits_flush) the append, acks=1 or acks=all, also waits until the
// leader's log has fsynced it (its durable offset passed the append).
// Wake-ups come from the FetchWaiters registry, which the partitions notify
// when their high watermark moves or a flush ends; nothing polls.
//
// Threads: `done` runs exactly once, on the calling thread when nothing has
// to wait, else on whichever thread moved a high watermark or on the
// scheduler's thread at the timeout.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "samsa/broker/replica/partition.h"
#include "samsa/protocol/error_code.h"

namespace samsa::broker {

class FetchWaiters;
class Scheduler;

namespace replica {

struct ReplicationWait {
  std::shared_ptr<Partition> partition;
  int64_t required_offset = 0;  // the append's last offset + 1
  bool replicated = true;       // acks=all: Partition::check_replicated
  bool durable = false;         // durable mode: Partition::check_durable
};

// One error per wait, in order: NONE, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
// NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR (the fsync failed) or
// REQUEST_TIMED_OUT. Without a scheduler the
// waits that cannot complete at once time out at once.
void await_replication(FetchWaiters& waiters, Scheduler* scheduler, std::vector<ReplicationWait> waits,
                       int64_t timeout_ms, std::function<void(std::vector<protocol::ErrorCode>)> done);

}  // namespace replica
}  // namespace samsa::broker
