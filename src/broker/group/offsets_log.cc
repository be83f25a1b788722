// Appends coordinator records to __consumer_offsets and replays them, as
// Kafka's CoordinatorPartitionWriter and CoordinatorLoaderImpl do for the
// group coordinator.
#include "samsa/broker/group/offsets_log.h"

#include <stdexcept>
#include <vector>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/fetch/fetch_waiters.h"
#include "samsa/broker/fetch/partition_access.h"
#include "samsa/broker/replica/replica_manager.h"
#include "samsa/protocol/compression.h"
#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/record_batch.h"
#include "samsa/util/logging.h"

namespace samsa::broker::group {

using protocol::ErrorCode;

namespace {

constexpr int32_t kDefaultLoadBufferSize = 5 * 1024 * 1024;  // offsets.load.buffer.size
// Decompressed size bound for one batch while loading (decompression bombs).
constexpr size_t kMaxDecompressedBatch = 256u * 1024 * 1024;

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.coordinator.group.OffsetsLog");
  return l;
}

protocol::CompressionType offsets_codec(const BrokerServices& services) {
  const int32_t id = services.config ? services.config->offsets_topic_compression_codec : 0;
  // Config validation keeps the id in 0..4, the codes of the batch attributes.
  return id >= 0 && id <= 4 ? static_cast<protocol::CompressionType>(id) : protocol::CompressionType::kNone;
}

// GroupMetadataManager.storeOffsets' mapping of append errors.
ErrorCode coordinator_error(ErrorCode e) {
  switch (e) {
    case ErrorCode::NOT_LEADER_OR_FOLLOWER:
    case ErrorCode::KAFKA_STORAGE_ERROR:
      return ErrorCode::NOT_COORDINATOR;
    case ErrorCode::MESSAGE_TOO_LARGE:
    case ErrorCode::RECORD_LIST_TOO_LARGE:
      return ErrorCode::INVALID_COMMIT_OFFSET_SIZE;
    default:
      return e;
  }
}

std::optional<std::span<const uint8_t>> view(const std::optional<std::vector<uint8_t>>& bytes) {
  if (!bytes) return std::nullopt;
  return std::span<const uint8_t>(*bytes);
}

// Reads exactly range.size bytes of the segment into buf (grown if needed);
// returns how many were read (short only if the file shrank meanwhile).
size_t read_range(const log::FetchRange& range, std::vector<uint8_t>& buf) {
  if (buf.size() < range.size) buf.resize(range.size);
  size_t done = 0;
  while (done < range.size) {
    const size_t n = range.file->pread_some(std::span<uint8_t>(buf.data() + done, range.size - done),
                                            range.position + done);
    if (n == 0) break;
    done += n;
  }
  return done;
}

}  // namespace

ErrorCode OffsetsLog::append(int32_t partition, std::span<const CoordinatorRecord> records, int64_t timestamp_ms) {
  auto image = services_.metadata.current();
  if (!image) return ErrorCode::NOT_COORDINATOR;
  auto found = lookup_leader_partition(services_, *image, kOffsetsTopic, partition);
  // A missing topic or partition means this broker cannot coordinate it.
  if (found.error != ErrorCode::NONE) return ErrorCode::NOT_COORDINATOR;
  if (records.empty()) return ErrorCode::NONE;
  replica::Partition& hosted = *found.partition;

  protocol::RecordBatchOptions options;
  options.base_timestamp = timestamp_ms;
  protocol::RecordBatchBuilder builder(options);
  for (const auto& r : records) {
    const auto key = encode_key(r);
    const auto value = encode_value(r);
    builder.append(timestamp_ms, std::span<const uint8_t>(key), view(value));
  }
  std::vector<uint8_t> batch;
  try {
    batch = protocol::build_compressed_batch(builder, offsets_codec(services_));
  } catch (const std::exception& e) {
    log()->error("Failed to build a batch for {}-{}: {}", kOffsetsTopic, partition, e.what());
    return ErrorCode::UNKNOWN_SERVER_ERROR;
  }

  // The partition moves the high watermark and wakes fetchers.
  auto result = hosted.append_as_leader(std::span<uint8_t>(batch), 1, log::AppendOrigin::kCoordinator);
  if (!result) {
    log()->debug("Append of {} coordinator records to {}-{} failed: {}", records.size(), kOffsetsTopic, partition,
                 result.error().message);
    return coordinator_error(result.error().code);
  }
  return ErrorCode::NONE;
}

size_t OffsetsLog::load(int32_t partition, const std::function<void(CoordinatorRecord&&)>& apply) {
  auto hosted = services_.replicas ? services_.replicas->get(kOffsetsTopic, partition) : nullptr;
  if (!hosted)
    throw std::runtime_error(std::string(kOffsetsTopic) + "-" + std::to_string(partition) + " is not hosted here");
  log::Log& plog = *hosted->log();
  const int32_t configured = services_.config ? services_.config->offsets_load_buffer_size : 0;
  const size_t chunk = static_cast<size_t>(configured > 0 ? configured : kDefaultLoadBufferSize);

  std::vector<uint8_t> buf;  // reused for every chunk; grows to the largest batch
  size_t applied = 0;
  const int64_t high_watermark = plog.high_watermark();
  int64_t offset = plog.log_start_offset();
  while (offset < high_watermark) {
    auto range = plog.read(offset, chunk, /*min_one_message=*/true, high_watermark);
    if (!range)
      throw std::runtime_error("Reading " + std::string(kOffsetsTopic) + "-" + std::to_string(partition) +
                               " at offset " + std::to_string(offset) + " failed: " + range.error().message);
    if (range->size == 0) break;  // nothing below the high watermark after all
    const size_t n = read_range(*range, buf);
    const auto split = protocol::split_batches(std::span<const uint8_t>(buf.data(), n), false);
    if (split.batches.empty())
      throw std::runtime_error("No complete batch in " + std::string(kOffsetsTopic) + "-" + std::to_string(partition) +
                               " at offset " + std::to_string(offset));

    for (const auto& batch : split.batches) {
      offset = batch.header.next_offset();
      if (batch.header.is_control()) continue;  // transaction markers carry no coordinator state
      std::vector<protocol::Record> batch_records;
      try {
        batch_records = protocol::decode_batch_records(batch, kMaxDecompressedBatch);
      } catch (const protocol::DecodeError& e) {
        log()->error("Skipping a malformed batch at offset {} of {}-{}: {}", batch.header.base_offset,
                     kOffsetsTopic, partition, e.what());
        continue;
      }
      for (auto& record : batch_records) {
        const int64_t record_offset = batch.header.base_offset + record.offset_delta;
        if (!record.key) {
          log()->error("Skipping a record without key at offset {} of {}-{}", record_offset, kOffsetsTopic,
                       partition);
          continue;
        }
        std::optional<CoordinatorRecord> decoded;
        try {
          decoded = decode_record(*record.key, view(record.value));
        } catch (const protocol::DecodeError& e) {
          log()->error("Skipping an undecodable record at offset {} of {}-{}: {}", record_offset, kOffsetsTopic,
                       partition, e.what());
          continue;
        }
        if (!decoded) continue;  // another coordinator's record type
        apply(std::move(*decoded));
        ++applied;
      }
    }
  }
  return applied;
}

}  // namespace samsa::broker::group
