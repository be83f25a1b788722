#include "samsa/log/leader_epoch_cache.h"

#include <algorithm>

#include "samsa/util/file_util.h"
#include "samsa/util/logging.h"

namespace samsa::log {

LeaderEpochCache::LeaderEpochCache(std::string checkpoint_path) : path_(std::move(checkpoint_path)) {
  auto text = read_text_file(path_);
  if (!text) return;
  auto parsed = parse_leader_epoch_checkpoint(*text);
  if (!parsed) {
    samsa::logger("samsa.log.LeaderEpochCache")->warn("Ignoring malformed {}", path_);
    return;
  }
  entries_ = std::move(*parsed);
}

void LeaderEpochCache::assign(int32_t epoch, int64_t start_offset, bool sync) {
  if (epoch < 0) return;
  std::lock_guard lock(mu_);
  if (!entries_.empty() && entries_.back().epoch == epoch &&
      start_offset >= entries_.back().start_offset)
    return;  // nothing new
  std::erase_if(entries_, [&](const EpochEntry& e) {
    return e.epoch >= epoch || e.start_offset >= start_offset;
  });
  entries_.push_back({epoch, start_offset});
  persist_locked(sync);
}

std::optional<int32_t> LeaderEpochCache::latest_epoch() const {
  std::lock_guard lock(mu_);
  if (entries_.empty()) return std::nullopt;
  return entries_.back().epoch;
}

std::pair<int32_t, int64_t> LeaderEpochCache::end_offset_for(int32_t requested,
                                                             int64_t log_end_offset) const {
  std::lock_guard lock(mu_);
  if (requested < 0) return {-1, -1};
  if (!entries_.empty() && entries_.back().epoch == requested) return {requested, log_end_offset};
  auto higher = std::find_if(entries_.begin(), entries_.end(),
                             [&](const EpochEntry& e) { return e.epoch > requested; });
  if (higher == entries_.end()) return {-1, -1};
  if (higher == entries_.begin()) return {requested, higher->start_offset};
  return {std::prev(higher)->epoch, higher->start_offset};
}

void LeaderEpochCache::truncate_from_end(int64_t end_offset) {
  std::lock_guard lock(mu_);
  size_t before = entries_.size();
  std::erase_if(entries_, [&](const EpochEntry& e) { return e.start_offset >= end_offset; });
  if (entries_.size() != before) persist_locked();
}

bool LeaderEpochCache::truncate_from_start(int64_t start_offset, bool sync) {
  std::lock_guard lock(mu_);
  auto first_kept = std::find_if(entries_.begin(), entries_.end(),
                                 [&](const EpochEntry& e) { return e.start_offset > start_offset; });
  if (first_kept == entries_.begin()) return false;
  EpochEntry moved{std::prev(first_kept)->epoch, start_offset};
  bool changed = std::prev(first_kept)->start_offset != start_offset ||
                 std::distance(entries_.begin(), first_kept) > 1;
  if (!changed) return false;
  entries_.erase(entries_.begin(), first_kept);
  entries_.insert(entries_.begin(), moved);
  persist_locked(sync);
  return true;
}

void LeaderEpochCache::clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
  persist_locked();
}

std::vector<EpochEntry> LeaderEpochCache::entries() const {
  std::lock_guard lock(mu_);
  return entries_;
}

void LeaderEpochCache::persist_locked(bool sync) {
  const std::string text = format_leader_epoch_checkpoint(entries_);
  if (sync)
    util::write_file_atomically(path_, text);
  else
    util::write_file_atomically_unsynced(
        path_, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace samsa::log
