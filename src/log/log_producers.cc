// The Log's side of idempotent producer state (producer_state.h): checks on
// append, loading from the latest snapshot plus the log tail after it, and
// introspection. Everything runs under the append lock.
#include <algorithm>

#include "samsa/log/log.h"
#include "samsa/util/logging.h"

namespace samsa::log {
namespace {

auto producers_logger() { return samsa::logger("samsa.log.UnifiedLog"); }

constexpr size_t kScanChunk = 64 * 1024;

// Each whole batch header in [pos, limit) of `file`, reading a chunk at a
// time (the batch bodies are skipped, not read).
template <typename Fn>
void for_each_batch_header(const FileHandle& file, uint64_t pos, uint64_t limit, Fn&& fn) {
  using protocol::RecordBatchHeader;
  std::vector<uint8_t> buf(kScanChunk);
  uint64_t buf_pos = 0;
  size_t buf_len = 0;
  while (pos + RecordBatchHeader::kSize <= limit) {
    if (pos < buf_pos || pos + RecordBatchHeader::kSize > buf_pos + buf_len) {
      buf_pos = pos;
      buf_len = file.pread_some(buf, pos);
      if (buf_len < RecordBatchHeader::kSize) return;
    }
    RecordBatchHeader h;
    try {
      h = RecordBatchHeader::parse(std::span<const uint8_t>(buf).subspan(pos - buf_pos, RecordBatchHeader::kSize));
    } catch (const protocol::DecodeError&) {
      return;  // recovery already cut the log at the last valid batch
    }
    if (pos + h.size_in_bytes() > limit) return;
    fn(h, pos);
    pos += h.size_in_bytes();
  }
}

}  // namespace

LogResult<std::optional<ProducerBatch>> Log::check_producers_locked(const ValidatedAppend& v, AppendOrigin origin,
                                                                    ProducerAppendUpdates& updates) const {
  for (const auto& b : v.batches) {
    if (b.header.producer_id < 0) continue;
    // Kafka answers a retried batch with the original's offsets: the client
    // lost the response, not the write.
    if (origin == AppendOrigin::kClient) {
      if (auto duplicate = producers_->find_duplicate(b.header)) return duplicate;
    }
    std::optional<protocol::EndTxnMarker> marker;
    if (b.header.is_control()) {
      try {
        marker = protocol::parse_end_txn_marker(b);
      } catch (const protocol::DecodeError& e) {
        return log_error(LogErrc::kCorruptMessage, std::string("malformed control record: ") + e.what());
      }
    }
    if (auto err = producers_->check_and_stage(b.header, origin, updates, marker ? &*marker : nullptr)) return *err;
  }
  return std::optional<ProducerBatch>{};
}

void Log::load_producer_state(bool clean_shutdown) {
  producers_ = std::make_unique<ProducerStateManager>(dir_, tp_.dir_name(), config_.producer_id_expiration_ms);
  rebuild_producer_state_locked(clean_shutdown);
}

void Log::rebuild_producer_state_locked(bool clean_shutdown) {
  const int64_t leo = log_end_offset();
  // Recovery re-validated a transaction marker: the replay starts at or
  // before it, so its segment's .txnindex gets the aborted ones again.
  const int64_t replay_at_most = first_recovered_marker_ ? std::min(leo, *first_recovered_marker_) : leo;
  first_recovered_marker_.reset();
  auto from = producers_->reload(replay_at_most, clock_->now_ms());
  if (!from && clean_shutdown) {
    // A clean stop always leaves a snapshot at the log end, so none at all
    // means this log never had producer state to keep.
    producers_->set_map_end_offset(leo);
    reset_txns_locked();
    return;
  }
  reset_txns_locked();
  int64_t start;
  {
    std::lock_guard lock(state_mu_);
    start = std::max(from.value_or(0), segments_.begin()->first);
  }
  size_t batches = 0;
  ProducerAppendUpdates updates;
  for (const auto& seg : segments_snapshot()) {
    if (seg->next_offset() <= start) continue;
    const uint64_t limit = seg->size();
    auto first = seg->translate_offset(start, limit);
    if (!first) continue;
    auto file = seg->log_file();
    for_each_batch_header(*file, first->position, limit, [&](const protocol::RecordBatchHeader& h, uint64_t pos) {
      if (h.last_offset() < start || h.producer_id < 0) return;
      std::optional<protocol::EndTxnMarker> marker;
      if (h.is_control()) {
        // Markers are tiny: the whole batch is read for its record.
        std::vector<uint8_t> bytes(h.size_in_bytes());
        if (file->pread_some(bytes, pos) == bytes.size()) {
          try {
            marker = protocol::parse_end_txn_marker(protocol::BatchView{h, bytes});
          } catch (const protocol::DecodeError&) {
          }
        }
      }
      producers_->check_and_stage(h, AppendOrigin::kReplication, updates, marker ? &*marker : nullptr);
      producers_->apply(updates, h.next_offset());
      track_txns_locked(updates);
      ++batches;
    });
  }
  producers_->set_map_end_offset(leo);
  if (start < leo) {
    producers_logger()->info("Rebuilt producer state of {} from offset {} to {} ({} producer batches)",
                             tp_.dir_name(), start, leo, batches);
    try {
      producers_->take_snapshot(leo);
    } catch (const std::exception& e) {
      producers_logger()->warn("Writing a producer snapshot of {} failed: {}", tp_.dir_name(), e.what());
    }
  }
}

void Log::snapshot_producers_locked(int64_t offset, bool sync) {
  // A failure propagates: the roll or close fails and the log dir goes
  // offline, as in Kafka (the disk is failing or full; the append that
  // triggered the roll must not be acknowledged).
  producers_->take_snapshot(offset, sync);
}

std::vector<ProducerStateEntry> Log::active_producers() const {
  std::lock_guard lock(append_mu_);
  return producers_->active_producers();
}

size_t Log::remove_expired_producers() {
  std::lock_guard lock(append_mu_);
  if (closed_) return 0;
  return producers_->remove_expired(clock_->now_ms());
}

std::optional<int64_t> Log::latest_producer_snapshot_offset() const {
  std::lock_guard lock(append_mu_);
  return producers_->latest_snapshot_offset();
}

}  // namespace samsa::log
