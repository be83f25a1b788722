#pragma once
// Topic-level log settings under Kafka's topic config names, with Kafka's
// defaults. The broker maps server.properties `log.*` keys onto this.
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>

#include "samsa/protocol/record_batch.h"

namespace samsa::log {

struct LogConfig {
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  int32_t segment_bytes = 1024 * 1024 * 1024;           // segment.bytes
  int64_t segment_ms = 7LL * 24 * 60 * 60 * 1000;       // segment.ms
  int64_t segment_jitter_ms = 0;                        // segment.jitter.ms
  int32_t segment_index_bytes = 10 * 1024 * 1024;       // segment.index.bytes
  int32_t index_interval_bytes = 4096;                  // index.interval.bytes
  int64_t retention_ms = 7LL * 24 * 60 * 60 * 1000;     // retention.ms (-1 = forever)
  int64_t retention_bytes = -1;                         // retention.bytes (-1 = unbounded)
  int64_t flush_messages = kNever;                      // flush.messages
  int64_t flush_ms = kNever;                            // flush.ms
  int32_t max_message_bytes = 1024 * 1024 + 12;         // max.message.bytes (1048588)
  protocol::TimestampType message_timestamp_type =      // message.timestamp.type
      protocol::TimestampType::kCreateTime;
  int64_t message_timestamp_before_max_ms = kNever;     // message.timestamp.before.max.ms
  int64_t message_timestamp_after_max_ms = kNever;      // message.timestamp.after.max.ms
  bool preallocate = false;                             // preallocate (accepted, not used)
  // How long a deleted segment's renamed *.deleted files stay before they are
  // unlinked (when the log has a delayed background executor).
  int64_t file_delete_delay_ms = 60000;                 // file.delete.delay.ms
  std::string cleanup_policy = "delete";                // cleanup.policy
  std::string compression_type = "producer";            // compression.type
  // Levels for the broker's own recompression (compression.type other than
  // "producer" and the producer's codec); Kafka's defaults (KIP-390).
  int32_t compression_gzip_level = -1;                  // compression.gzip.level (-1: zlib's default)
  int32_t compression_lz4_level = 9;                    // compression.lz4.level
  int32_t compression_zstd_level = 3;                   // compression.zstd.level
  // Compaction (cleanup.policy=compact), log_cleaner.h.
  int64_t delete_retention_ms = 86400000;               // delete.retention.ms
  double min_cleanable_dirty_ratio = 0.5;               // min.cleanable.dirty.ratio
  int64_t min_compaction_lag_ms = 0;                    // min.compaction.lag.ms
  int64_t max_compaction_lag_ms = kNever;               // max.compaction.lag.ms
  // Samsa extension, the same as flush.messages=1: every leader append is
  // fsynced before it is answered (group_commit.h shares the fsyncs).
  bool fsync_per_append = false;                        // samsa.fsync.per.append
  // The broker's producer.id.expiration.ms (not a topic config): producer
  // state idle this long, by its batches' timestamps, is dropped.
  int64_t producer_id_expiration_ms = 86400000;

  bool operator==(const LogConfig&) const = default;

  bool delete_enabled() const { return cleanup_policy.find("delete") != std::string::npos; }
  bool compact_enabled() const { return cleanup_policy.find("compact") != std::string::npos; }

  // Overrides from topic config strings (names as above). Unknown keys are
  // ignored; a malformed value leaves its field unchanged, the other keys
  // still apply, and the first such key's name is returned.
  std::optional<std::string> apply(const std::map<std::string, std::string>& overrides);
};

}  // namespace samsa::log
