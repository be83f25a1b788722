// Appends coordinator records to __consumer_offsets and replays them, as
// Kafka's CoordinatorPartitionWriter and CoordinatorLoaderImpl do for the
// group coordinator.
#include "samsa/broker/group/offsets_log.h"

#include <stdexcept>
#include <vector>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/coordinator_write_error.h"
#include "samsa/broker/fetch/partition_access.h"
#include "samsa/broker/replica/replica_manager.h"
#include "samsa/protocol/compression.h"
#include "samsa/protocol/control_records.h"
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

// Kafka's GroupCoordinatorService.normalizeException, with
// GroupMetadataManager's INVALID_COMMIT_OFFSET_SIZE for a batch too large
// (INVALID_FETCH_SIZE too, as Kafka maps it there).
ErrorCode coordinator_error(ErrorCode e) {
  if (e == ErrorCode::INVALID_FETCH_SIZE) return ErrorCode::INVALID_COMMIT_OFFSET_SIZE;
  return coordinator_write_error(e, ErrorCode::INVALID_COMMIT_OFFSET_SIZE);
}

void OffsetsLog::append(int32_t partition, std::span<const CoordinatorRecord> records, int64_t timestamp_ms,
                        AppendDone done) {
  append_batch(partition, records, timestamp_ms, -1, -1, std::nullopt, std::move(done));
}

void OffsetsLog::append_transactional(int32_t partition, std::span<const CoordinatorRecord> records,
                                      int64_t timestamp_ms, int64_t producer_id, int16_t producer_epoch,
                                      std::optional<uint64_t> verification_guard, AppendDone done) {
  append_batch(partition, records, timestamp_ms, producer_id, producer_epoch, verification_guard, std::move(done));
}

void OffsetsLog::append_batch(int32_t partition, std::span<const CoordinatorRecord> records, int64_t timestamp_ms,
                              int64_t producer_id, int16_t producer_epoch, std::optional<uint64_t> verification_guard,
                              AppendDone done) {
  auto fail = [&](ErrorCode e) { done(AppendOutcome{e, -1}); };
  auto image = services_.metadata.current();
  if (!image || !services_.replicas) return fail(ErrorCode::NOT_COORDINATOR);
  auto found = lookup_leader_partition(services_, *image, kOffsetsTopic, partition);
  // A missing topic or partition means this broker cannot coordinate it.
  if (found.error != ErrorCode::NONE) return fail(ErrorCode::NOT_COORDINATOR);
  if (records.empty()) return done(AppendOutcome{});

  protocol::RecordBatchOptions options;
  options.base_timestamp = timestamp_ms;
  if (producer_id >= 0) {
    options.producer_id = producer_id;
    options.producer_epoch = producer_epoch;
    options.base_sequence = 0;  // coordinator appends carry no sequence check
    options.transactional = true;
  }
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
    return fail(ErrorCode::UNKNOWN_SERVER_ERROR);
  }

  // acks=-1 always (Kafka 4.0 dropped offsets.commit.required.acks): a
  // write the coordinator answers for must survive the loss of its node.
  const size_t count = records.size();
  services_.replicas->append_records(
      kOffsetsTopic, partition, std::move(batch), -1, log::AppendOrigin::kCoordinator, commit_timeout_ms_,
      [partition, count, done = std::move(done)](replica::PartitionResult<log::AppendInfo> result) {
        if (!result) {
          log()->debug("Write of {} coordinator records to {}-{} failed: {} {}", count, kOffsetsTopic, partition,
                       protocol::error_name(result.error().code), result.error().message);
          return done(AppendOutcome{coordinator_error(result.error().code), -1});
        }
        done(AppendOutcome{ErrorCode::NONE, result->last_offset});
      },
      verification_guard);
}

size_t OffsetsLog::load(int32_t partition, const std::function<void(CoordinatorRecord&&)>& apply) {
  LoadVisitor visit;
  visit.record = [&apply](LoadedRecord&& r) { apply(std::move(r.record)); };
  return load(partition, visit);
}

size_t OffsetsLog::load(int32_t partition, const LoadVisitor& visit, int64_t* end) {
  auto hosted = services_.replicas ? services_.replicas->get(kOffsetsTopic, partition) : nullptr;
  if (!hosted)
    throw std::runtime_error(std::string(kOffsetsTopic) + "-" + std::to_string(partition) + " is not hosted here");
  log::Log& plog = *hosted->log();
  const int32_t configured = services_.config ? services_.config->offsets_load_buffer_size : 0;
  const size_t chunk = static_cast<size_t>(configured > 0 ? configured : kDefaultLoadBufferSize);

  std::vector<uint8_t> buf;  // reused for every chunk; grows to the largest batch
  size_t applied = 0;
  const int64_t log_end = plog.log_end_offset();
  if (end) *end = log_end;
  int64_t offset = plog.log_start_offset();
  while (offset < log_end) {
    auto range = plog.read(offset, chunk, /*min_one_message=*/true, log_end);
    if (!range)
      throw std::runtime_error("Reading " + std::string(kOffsetsTopic) + "-" + std::to_string(partition) +
                               " at offset " + std::to_string(offset) + " failed: " + range.error().message);
    if (range->size == 0) break;  // nothing below the log end after all
    const size_t n = read_range(*range, buf);
    const auto split = protocol::split_batches(std::span<const uint8_t>(buf.data(), n), false);
    if (split.batches.empty())
      throw std::runtime_error("No complete batch in " + std::string(kOffsetsTopic) + "-" + std::to_string(partition) +
                               " at offset " + std::to_string(offset));

    for (const auto& batch : split.batches) {
      offset = batch.header.next_offset();
      if (batch.header.is_control()) {
        // A transaction's end: its offset commits take effect or vanish.
        std::optional<protocol::EndTxnMarker> marker;
        try {
          marker = protocol::parse_end_txn_marker(batch);
        } catch (const protocol::DecodeError& e) {
          log()->error("Skipping a malformed control batch at offset {} of {}-{}: {}", batch.header.base_offset,
                       kOffsetsTopic, partition, e.what());
        }
        if (marker && visit.marker) visit.marker(batch.header.producer_id, marker->commit, batch.header.base_offset);
        continue;
      }
      const int64_t producer_id = batch.header.is_transactional() ? batch.header.producer_id : -1;
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
        visit.record(LoadedRecord{std::move(*decoded), record_offset, producer_id});
        ++applied;
      }
    }
  }
  return applied;
}

}  // namespace samsa::broker::group
