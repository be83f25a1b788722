#pragma once
// Leader epoch -> first offset written in that epoch, persisted in the
// partition's leader-epoch-checkpoint (format in checkpoint_file.h) on every
// change. Rules follow Kafka's LeaderEpochFileCache: a new entry replaces
// any entry with a larger-or-equal epoch or start offset; log truncation
// trims it from the end, a moved log start offset from the front.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "samsa/log/checkpoint_file.h"

namespace samsa::log {

class LeaderEpochCache {
 public:
  // Loads `checkpoint_path` if it exists (a malformed file is logged and
  // treated as empty: recovery rebuilds what it can).
  explicit LeaderEpochCache(std::string checkpoint_path);

  // `sync` false writes the checkpoint without fsync: for a new leader's
  // epoch start (Kafka no longer fsyncs it either); the batches of the
  // epoch carry it again, and recovery rebuilds the cache from them.
  void assign(int32_t epoch, int64_t start_offset, bool sync = true);
  std::optional<int32_t> latest_epoch() const;
  // (epoch, end offset) for OffsetsForLeaderEpoch; (-1, -1) if unknown.
  std::pair<int32_t, int64_t> end_offset_for(int32_t requested_epoch,
                                             int64_t log_end_offset) const;
  // Removes entries starting at or after end_offset.
  void truncate_from_end(int64_t end_offset);
  // Removes entries before start_offset, keeping the last of them moved up.
  // `sync` false writes the checkpoint without fsync (the caller syncs
  // path() later, off its thread): as Kafka does for truncations, which the
  // next start redoes from the log start offset if the write is lost.
  // Returns whether the checkpoint was written.
  bool truncate_from_start(int64_t start_offset, bool sync = true);
  const std::string& path() const { return path_; }
  void clear();
  std::vector<EpochEntry> entries() const;

 private:
  void persist_locked(bool sync = true);

  std::string path_;
  mutable std::mutex mu_;
  std::vector<EpochEntry> entries_;  // ascending epoch and start offset
};

}  // namespace samsa::log
