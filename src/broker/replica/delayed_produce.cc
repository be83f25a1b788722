// acks=all waits: a DelayedCheck per written partition (delayed_operation.h)
// asking Partition::check_replicated.
#include "samsa/broker/replica/delayed_produce.h"

#include "samsa/broker/replica/delayed_operation.h"

namespace samsa::broker::replica {

void await_replication(FetchWaiters& waiters, Scheduler* scheduler, std::vector<ReplicationWait> waits,
                       int64_t timeout_ms, std::function<void(std::vector<protocol::ErrorCode>)> done) {
  std::vector<DelayedCheck> checks;
  checks.reserve(waits.size());
  for (auto& w : waits) {
    auto partition = std::move(w.partition);
    const int64_t required = w.required_offset;
    checks.push_back({partition->topic(), partition->index(),
                      [partition, required] { return partition->check_replicated(required); }});
  }
  await_checks(waiters, scheduler, std::move(checks), timeout_ms, std::move(done));
}

}  // namespace samsa::broker::replica
