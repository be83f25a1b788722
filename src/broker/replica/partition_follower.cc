// Partition, follower side: what the replica fetcher does to the local log
// (Kafka's Partition.appendRecordsToFollowerOrFutureReplica, truncateTo,
// truncateFullyAndStartAt and the follower half of
// ReplicaFetcherThread.processPartitionData), plus the leader-epoch lookups
// both sides share. Log I/O runs outside the partition mutex: only the
// fetcher thread that owns this partition calls the writers here, so they
// never race one another.
#include <algorithm>

#include "samsa/broker/replica/partition.h"

namespace samsa::broker::replica {

log::LogResult<log::AppendInfo> Partition::append_as_follower(std::span<const uint8_t> batches) {
  return log_->append_as_follower(batches);
}

log::LogResult<int64_t> Partition::truncate_to(int64_t offset) {
  // The log cuts its leader epoch cache and rebuilds producer state from
  // the newest snapshot at or below the cut (Log::truncate_to), and lowers
  // the high watermark with the log end.
  return log_->truncate_to(offset);
}

log::LogResult<int64_t> Partition::truncate_fully_and_start_at(int64_t offset) {
  auto r = log_->truncate_fully_and_start_at(offset);
  if (r && hooks_.on_progress) hooks_.on_progress(topic_, index_);
  return r;
}

void Partition::update_from_leader(int64_t leader_high_watermark, int64_t leader_log_start) {
  const int64_t before = log_->high_watermark();
  // A follower's high watermark is the leader's, capped by what it holds.
  // It may go down (a new leader that has not yet learnt the old one's
  // high watermark), as Kafka's follower takes whatever the leader says.
  if (leader_high_watermark >= 0) log_->set_high_watermark(std::min(leader_high_watermark, log_->log_end_offset()));
  // The leader's log start (retention, DeleteRecords) moves ours up, never
  // past our own high watermark: a follower only drops what is committed.
  if (leader_log_start > log_->log_start_offset()) {
    const int64_t target = std::min(leader_log_start, log_->high_watermark());
    if (target > log_->log_start_offset()) (void)log_->delete_records_before(target);
  }
  if (log_->high_watermark() != before && hooks_.on_progress) hooks_.on_progress(topic_, index_);
}

std::optional<int32_t> Partition::latest_epoch() const { return log_->leader_epoch_cache().latest_epoch(); }

}  // namespace samsa::broker::replica
