// Producer state checks and bookkeeping, with Kafka's ProducerAppendInfo and
// ProducerStateEntry as the reference for every outcome.
#include "samsa/log/producer_state.h"

#include <algorithm>
#include <limits>

#include "samsa/log/file_handle.h"
#include "samsa/util/logging.h"

namespace samsa::log {
namespace {

auto state_logger() { return samsa::logger("samsa.log.ProducerStateManager"); }

constexpr int32_t kMaxSeq = std::numeric_limits<int32_t>::max();

bool in_sequence(int32_t last_seq, int32_t next_seq) {
  return static_cast<int64_t>(next_seq) == static_cast<int64_t>(last_seq) + 1 ||
         (next_seq == 0 && last_seq == kMaxSeq);
}

}  // namespace

int32_t increment_sequence(int32_t sequence, int32_t increment) {
  if (sequence > kMaxSeq - increment) return increment - (kMaxSeq - sequence) - 1;
  return sequence + increment;
}

int32_t decrement_sequence(int32_t sequence, int32_t decrement) {
  if (sequence < decrement) return kMaxSeq - (decrement - sequence) + 1;
  return sequence - decrement;
}

int32_t last_sequence_of(const protocol::RecordBatchHeader& h) {
  if (h.base_sequence < 0) return kNoSequence;
  return increment_sequence(h.base_sequence, h.last_offset_delta);
}

std::optional<ProducerBatch> ProducerStateEntry::find_batch(int16_t epoch, int32_t first_seq,
                                                            int32_t last_seq) const {
  if (epoch != producer_epoch) return std::nullopt;
  for (size_t i = 0; i < batch_count_; ++i) {
    const ProducerBatch& b = batches_[i];
    if (b.first_seq() == first_seq && b.last_seq == last_seq) return b;
  }
  return std::nullopt;
}

void ProducerStateEntry::set_epoch(int16_t epoch) {
  if (epoch == producer_epoch) return;
  batch_count_ = 0;
  producer_epoch = epoch;
}

void ProducerStateEntry::add_batch(int16_t epoch, const ProducerBatch& batch) {
  set_epoch(epoch);
  if (batch_count_ == batches_.size()) {
    for (size_t i = 1; i < batches_.size(); ++i) batches_[i - 1] = batches_[i];
    --batch_count_;
  }
  batches_[batch_count_++] = batch;
  last_timestamp = batch.timestamp;
}

ProducerStateManager::ProducerStateManager(std::string dir, std::string name, int64_t producer_id_expiration_ms)
    : dir_(std::move(dir)), name_(std::move(name)), expiration_ms_(producer_id_expiration_ms) {}

const ProducerStateEntry* ProducerStateManager::find(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  return it == producers_.end() ? nullptr : &it->second;
}

std::optional<ProducerBatch> ProducerStateManager::find_duplicate(const protocol::RecordBatchHeader& h) const {
  const ProducerStateEntry* e = find(h.producer_id);
  if (!e) return std::nullopt;
  return e->find_batch(h.producer_epoch, h.base_sequence, last_sequence_of(h));
}

std::optional<LogError> ProducerStateManager::check_and_stage(const protocol::RecordBatchHeader& h,
                                                              AppendOrigin origin,
                                                              ProducerAppendUpdates& updates,
                                                              const protocol::EndTxnMarker* marker) const {
  const ProducerStateEntry* current = find(h.producer_id);
  ProducerStateEntry* updated = nullptr;
  for (auto& e : updates.entries)
    if (e.producer_id == h.producer_id) updated = &e;
  if (!updated) {
    // Like Kafka's updatedEntry: the current epoch and times, no batches yet.
    updated = &updates.entries.emplace_back(current ? *current : ProducerStateEntry{});
    updated->producer_id = h.producer_id;
    updated->clear_batches();
  }
  const int16_t epoch = h.producer_epoch;
  const int32_t first_seq = h.base_sequence;
  // Messages are built only on failure: this runs for every idempotent batch.
  auto where = [&] {
    return " of producer " + std::to_string(h.producer_id) + " at offset " + std::to_string(h.base_offset) +
           " in " + name_;
  };

  if (epoch < updated->producer_epoch) {
    std::string message = "Epoch" + where() + " is " + std::to_string(epoch) +
                          ", which is smaller than the last seen epoch " +
                          std::to_string(updated->producer_epoch);
    if (origin != AppendOrigin::kReplication) return log_error(LogErrc::kInvalidProducerEpoch, message);
    state_logger()->warn("{}", message);
  }
  if (origin == AppendOrigin::kClient) {
    if (epoch != updated->producer_epoch) {
      // A new epoch starts at sequence 0; an unknown producer (its state
      // expired or was never seen here) may start anywhere (KIP-360).
      if (first_seq != 0 && updated->producer_epoch != kNoProducerEpoch)
        return log_error(LogErrc::kOutOfOrderSequence,
                         "Invalid sequence number for new epoch" + where() + ": " + std::to_string(epoch) +
                             " (request epoch), " + std::to_string(first_seq) + " (seq. number), " +
                             std::to_string(updated->producer_epoch) + " (current producer epoch)");
    } else {
      int32_t last_seq = kNoSequence;
      if (!updated->empty()) last_seq = updated->last_seq();
      else if (current && epoch == current->producer_epoch) last_seq = current->last_seq();
      const int16_t current_epoch = current ? current->producer_epoch : kNoProducerEpoch;
      if (!(current_epoch == kNoProducerEpoch || in_sequence(last_seq, first_seq)))
        return log_error(LogErrc::kOutOfOrderSequence,
                         "Out of order sequence number" + where() + ": " + std::to_string(first_seq) +
                             " (incoming seq. number), " + std::to_string(last_seq) +
                             " (current end sequence number)");
    }
  }
  if (h.is_control()) {
    // Transaction markers carry no data sequence; they move the epoch (a
    // transactions-v2 marker bumps it) and end the open transaction.
    if (marker) {
      if (updated->coordinator_epoch > marker->coordinator_epoch) {
        std::string message = "Transaction marker" + where() + " has coordinator epoch " +
                              std::to_string(marker->coordinator_epoch) + ", older than the last seen " +
                              std::to_string(updated->coordinator_epoch);
        if (origin != AppendOrigin::kReplication)
          return log_error(LogErrc::kTransactionCoordinatorFenced, message);
        state_logger()->info("{}", message);
      }
      // No open transaction (the marker of one whose data never came here,
      // or a retried marker): it spans the marker alone, as in Kafka.
      const int64_t first = updated->current_txn_first_offset >= 0 ? updated->current_txn_first_offset
                                                                   : h.base_offset;
      updated->set_epoch(std::max(epoch, updated->producer_epoch));
      updated->current_txn_first_offset = -1;
      updated->coordinator_epoch = marker->coordinator_epoch;
      updated->last_timestamp = h.max_timestamp;
      updates.completed.push_back(CompletedTxn{h.producer_id, first, h.last_offset(), !marker->commit});
    } else {
      updated->set_epoch(epoch);
    }
    return std::nullopt;
  }
  if (h.is_transactional()) {
    if (updated->current_txn_first_offset < 0) {
      updated->current_txn_first_offset = h.base_offset;
      updates.started.push_back(OngoingTxn{h.producer_id, h.base_offset});
    }
  } else if (updated->current_txn_first_offset >= 0 && origin != AppendOrigin::kReplication) {
    return log_error(LogErrc::kInvalidTxnState, "Expected transactional write" + where() +
                                                    " (its transaction is open since offset " +
                                                    std::to_string(updated->current_txn_first_offset) + ")");
  }
  ProducerBatch b;
  b.last_seq = last_sequence_of(h);
  b.last_offset = h.last_offset();
  b.offset_delta = h.last_offset_delta;
  b.timestamp = h.max_timestamp;
  updated->add_batch(epoch, b);
  return std::nullopt;
}

void ProducerStateManager::apply(ProducerAppendUpdates& updates, int64_t end_offset) {
  for (auto& next : updates.entries) {
    auto [it, inserted] = producers_.try_emplace(next.producer_id, next);
    if (inserted) continue;
    ProducerStateEntry& e = it->second;
    e.set_epoch(next.producer_epoch);
    e.coordinator_epoch = next.coordinator_epoch;
    e.last_timestamp = next.last_timestamp;
    e.current_txn_first_offset = next.current_txn_first_offset;
    for (size_t i = 0; i < next.batch_count(); ++i) e.add_batch(next.producer_epoch, next.batch(i));
  }
  updates.entries.clear();
  map_end_offset_ = std::max(map_end_offset_, end_offset);
}

std::vector<OngoingTxn> ProducerStateManager::ongoing_txns() const {
  std::vector<OngoingTxn> out;
  for (const auto& [id, e] : producers_)
    if (e.current_txn_first_offset >= 0) out.push_back(OngoingTxn{id, e.current_txn_first_offset});
  std::sort(out.begin(), out.end(),
            [](const OngoingTxn& a, const OngoingTxn& b) { return a.first_offset < b.first_offset; });
  return out;
}

bool ProducerStateManager::expired(const ProducerStateEntry& e, int64_t now_ms) const {
  return e.current_txn_first_offset < 0 && now_ms - e.last_timestamp >= expiration_ms_;
}

size_t ProducerStateManager::remove_expired(int64_t now_ms) {
  size_t removed = 0;
  for (auto it = producers_.begin(); it != producers_.end();) {
    if (expired(it->second, now_ms)) {
      it = producers_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

std::vector<ProducerStateEntry> ProducerStateManager::active_producers() const {
  std::vector<ProducerStateEntry> out;
  out.reserve(producers_.size());
  for (const auto& [id, e] : producers_) out.push_back(e);
  return out;
}

void ProducerStateManager::take_snapshot(int64_t end_offset, bool sync) {
  if (last_snapshot_offset_ && *last_snapshot_offset_ == end_offset) return;
  // Nothing was ever appended: no snapshot, as Kafka (an empty log closing
  // would otherwise cost two fsyncs, 100,000 partitions 200,000).
  if (!last_snapshot_offset_ && end_offset == 0 && producers_.empty()) return;
  std::vector<ProducerSnapshotEntry> entries;
  entries.reserve(producers_.size());
  for (const auto& [id, e] : producers_) {
    ProducerSnapshotEntry s;
    s.producer_id = id;
    s.producer_epoch = e.producer_epoch;
    s.last_sequence = e.last_seq();
    s.last_offset = e.last_offset();
    s.offset_delta = e.empty() ? 0 : e.batch(e.batch_count() - 1).offset_delta;
    s.timestamp = e.last_timestamp;
    s.coordinator_epoch = e.coordinator_epoch;
    s.current_txn_first_offset = e.current_txn_first_offset;
    entries.push_back(s);
  }
  write_producer_snapshot(producer_snapshot_path(dir_, end_offset), entries, sync);
  map_end_offset_ = std::max(map_end_offset_, end_offset);
  if (!last_snapshot_offset_ || *last_snapshot_offset_ < end_offset) last_snapshot_offset_ = end_offset;
}

std::optional<int64_t> ProducerStateManager::latest_snapshot_offset() const { return last_snapshot_offset_; }

std::optional<int64_t> ProducerStateManager::reload(int64_t max_offset, int64_t now_ms) {
  producers_.clear();
  last_snapshot_offset_.reset();
  map_end_offset_ = 0;
  delete_snapshots_above(max_offset);
  auto offsets = list_producer_snapshots(dir_);
  for (auto it = offsets.rbegin(); it != offsets.rend(); ++it) {
    const std::string path = producer_snapshot_path(dir_, *it);
    auto entries = read_producer_snapshot(path);
    if (!entries) {
      state_logger()->warn("Deleting unreadable producer snapshot {}: {}", path, entries.error().message);
      remove_file_if_exists(path);
      continue;
    }
    for (const auto& s : *entries) {
      ProducerStateEntry e;
      e.producer_id = s.producer_id;
      e.producer_epoch = s.producer_epoch;
      e.coordinator_epoch = s.coordinator_epoch;
      e.current_txn_first_offset = s.current_txn_first_offset;
      if (s.last_offset >= 0)
        e.add_batch(s.producer_epoch, ProducerBatch{s.last_sequence, s.last_offset, s.offset_delta, s.timestamp});
      e.last_timestamp = s.timestamp;
      if (!expired(e, now_ms)) producers_.emplace(e.producer_id, e);
    }
    last_snapshot_offset_ = *it;
    map_end_offset_ = *it;
    return *it;
  }
  return std::nullopt;
}

void ProducerStateManager::delete_snapshot(int64_t offset) {
  remove_file_if_exists(producer_snapshot_path(dir_, offset));
  if (last_snapshot_offset_ && *last_snapshot_offset_ == offset) {
    auto rest = list_producer_snapshots(dir_);
    last_snapshot_offset_ = rest.empty() ? std::nullopt : std::optional<int64_t>(rest.back());
  }
}

void ProducerStateManager::delete_snapshots_above(int64_t offset) {
  for (int64_t o : list_producer_snapshots(dir_))
    if (o > offset) remove_file_if_exists(producer_snapshot_path(dir_, o));
  if (last_snapshot_offset_ && *last_snapshot_offset_ > offset) {
    auto rest = list_producer_snapshots(dir_);
    last_snapshot_offset_ = rest.empty() ? std::nullopt : std::optional<int64_t>(rest.back());
  }
}

}  // namespace samsa::log
