// acks=all and durable-mode waits: a DelayedCheck per written partition
// (delayed_operation.h) asking Partition::check_replicated, then
// Partition::check_durable.
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
    const bool replicated = w.replicated, durable = w.durable;
    checks.push_back({partition->topic(), partition->index(),
                      [partition, required, replicated, durable]() -> std::optional<protocol::ErrorCode> {
                        if (replicated) {
                          auto r = partition->check_replicated(required);
                          if (!r || *r != protocol::ErrorCode::NONE || !durable) return r;
                        }
                        return partition->check_durable(required);
                      }});
  }
  await_checks(waiters, scheduler, std::move(checks), timeout_ms, std::move(done));
}

}  // namespace samsa::broker::replica
