#pragma once
// Kafka's DelayedOperation purgatory, for the waits of replicated partitions:
// an operation is answered once every one of its per-partition checks has
// an answer, or when its timeout ends (REQUEST_TIMED_OUT for the checks
// still open). Checks are re-run when one of their partitions is notified
// through the FetchWaiters registry (a high watermark moved, a follower
// reported a new position); nothing polls.
//
// Threads: `done` runs exactly once, on the calling thread when nothing has
// to wait, else on whichever thread notified a partition or on the
// scheduler's thread at the timeout. A check must be cheap and thread-safe.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "samsa/protocol/error_code.h"

namespace samsa::broker {

class FetchWaiters;
class Scheduler;

namespace replica {

struct DelayedCheck {
  std::string topic;
  int32_t partition = 0;
  // The answer for this partition, or nullopt while it has to wait.
  std::function<std::optional<protocol::ErrorCode>()> check;
};

// One error per check, in order. Without a scheduler the checks that cannot
// answer at once time out at once.
void await_checks(FetchWaiters& waiters, Scheduler* scheduler, std::vector<DelayedCheck> checks, int64_t timeout_ms,
                  std::function<void(std::vector<protocol::ErrorCode>)> done);

}  // namespace replica
}  // namespace samsa::broker
