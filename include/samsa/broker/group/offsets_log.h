#pragma once
// Reads and writes coordinator records in the partitions of
// __consumer_offsets that this broker hosts. The group coordinator decides
// what to write; this class turns records into batches (compressed with
// offsets.topic.compression.codec), appends them as the partition leader,
// advances the high watermark and wakes parked fetches, and replays a
// partition's records when the coordinator loads it.
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "samsa/broker/group/coordinator_records.h"
#include "samsa/protocol/error_code.h"

namespace samsa::broker {
struct BrokerServices;
}

namespace samsa::broker::group {

inline constexpr const char* kOffsetsTopic = "__consumer_offsets";

class OffsetsLog {
 public:
  explicit OffsetsLog(BrokerServices& services) : services_(services) {}

  // Appends `records` to __consumer_offsets-<partition> as one batch, with
  // the given timestamp. Returns NONE, or the error a coordinator answers
  // with: NOT_COORDINATOR when this broker does not lead the partition (or
  // the topic does not exist), UNKNOWN_SERVER_ERROR / the log's error
  // otherwise (RECORD_LIST_TOO_LARGE and MESSAGE_TOO_LARGE map to
  // INVALID_COMMIT_OFFSET_SIZE as Kafka does for offset commits).
  protocol::ErrorCode append(int32_t partition, std::span<const CoordinatorRecord> records, int64_t timestamp_ms);

  // Replays __consumer_offsets-<partition> from its log start up to its high
  // watermark, in offset order, calling `apply` for each record this
  // coordinator owns (control batches and foreign keys are skipped; a
  // record that fails to decode is logged and skipped). Returns the number
  // of records applied; throws std::runtime_error if the log is not hosted.
  size_t load(int32_t partition, const std::function<void(CoordinatorRecord&&)>& apply);

 private:
  BrokerServices& services_;
};

}  // namespace samsa::broker::group
