// Appends transaction records to __transaction_state and replays them, as
// Kafka's TransactionStateManager does with its ReplicaManager.
#include "samsa/broker/txn/txn_log_store.h"

#include <stdexcept>
#include <vector>

#include "samsa/broker/broker_services.h"
#include "samsa/broker/coordinator_write_error.h"
#include "samsa/broker/fetch/partition_access.h"
#include "samsa/broker/replica/replica_manager.h"
#include "samsa/protocol/compression.h"
#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/record_batch.h"
#include "samsa/util/logging.h"

namespace samsa::broker::txn {

using protocol::ErrorCode;

namespace {

constexpr size_t kMaxDecompressedBatch = 256u * 1024 * 1024;  // decompression bombs

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.coordinator.transaction.TransactionStateManager");
  return l;
}

// Kafka's TransactionStateManager.appendTransactionToLog: a record too
// large is an UNKNOWN_SERVER_ERROR there.
ErrorCode coordinator_error(ErrorCode e) { return coordinator_write_error(e, ErrorCode::UNKNOWN_SERVER_ERROR); }

size_t read_range(const log::FetchRange& range, std::vector<uint8_t>& buf) {
  if (buf.size() < range.size) buf.resize(range.size);
  size_t done = 0;
  while (done < range.size) {
    const size_t n =
        range.file->pread_some(std::span<uint8_t>(buf.data() + done, range.size - done), range.position + done);
    if (n == 0) break;
    done += n;
  }
  return done;
}

}  // namespace

void ReplicatedTxnLogStore::append(int32_t partition, const std::string& transactional_id,
                                   const std::optional<TxnRecord>& record, int64_t timestamp_ms,
                                   std::function<void(ErrorCode)> done) {
  auto image = services_.metadata.current();
  if (!image || !services_.replicas) return done(ErrorCode::NOT_COORDINATOR);
  auto found = lookup_leader_partition(services_, *image, kTransactionStateTopic, partition);
  if (found.error != ErrorCode::NONE) return done(ErrorCode::NOT_COORDINATOR);

  protocol::RecordBatchOptions options;
  options.base_timestamp = timestamp_ms;
  protocol::RecordBatchBuilder builder(options);
  const auto key = encode_txn_key(transactional_id);
  std::optional<std::vector<uint8_t>> value;
  if (record) value = encode_txn_value(*record);
  std::optional<std::span<const uint8_t>> value_view;
  if (value) value_view = std::span<const uint8_t>(*value);
  builder.append(timestamp_ms, std::span<const uint8_t>(key), value_view);
  // acks=-1: a transition the coordinator answers for must survive the loss of its node.
  services_.replicas->append_records(
      kTransactionStateTopic, partition, builder.build(), -1, log::AppendOrigin::kCoordinator, write_timeout_ms_,
      [partition, transactional_id, done = std::move(done)](replica::PartitionResult<log::AppendInfo> result) {
        if (!result) {
          log()->debug("Writing the state of transactional id {} to {}-{} failed: {} {}", transactional_id,
                       kTransactionStateTopic, partition, protocol::error_name(result.error().code),
                       result.error().message);
          return done(coordinator_error(result.error().code));
        }
        done(ErrorCode::NONE);
      });
}

void ReplicatedTxnLogStore::load(int32_t partition, const std::function<void(DecodedTxnRecord&&)>& apply) {
  const std::string name = std::string(kTransactionStateTopic) + "-" + std::to_string(partition);
  auto hosted = services_.replicas ? services_.replicas->get(kTransactionStateTopic, partition) : nullptr;
  if (!hosted) throw std::runtime_error(name + " is not hosted here");
  log::Log& plog = *hosted->log();
  const size_t chunk = static_cast<size_t>(load_buffer_size_ > 0 ? load_buffer_size_ : 5 * 1024 * 1024);
  std::vector<uint8_t> buf;
  // Up to the log end, as the group coordinator loads: a leader never
  // truncates its own log, so all of it becomes committed.
  const int64_t log_end = plog.log_end_offset();
  int64_t offset = plog.log_start_offset();
  while (offset < log_end) {
    auto range = plog.read(offset, chunk, /*min_one_message=*/true, log_end);
    if (!range) throw std::runtime_error("Reading " + name + " failed: " + range.error().message);
    if (range->size == 0) break;
    const size_t n = read_range(*range, buf);
    const auto split = protocol::split_batches(std::span<const uint8_t>(buf.data(), n), false);
    if (split.batches.empty()) throw std::runtime_error("No complete batch in " + name);
    for (const auto& batch : split.batches) {
      offset = batch.header.next_offset();
      if (batch.header.is_control()) continue;
      std::vector<protocol::Record> records;
      try {
        records = protocol::decode_batch_records(batch, kMaxDecompressedBatch);
      } catch (const protocol::DecodeError& e) {
        log()->error("Skipping a malformed batch at offset {} of {}: {}", batch.header.base_offset, name, e.what());
        continue;
      }
      for (auto& r : records) {
        if (!r.key) continue;
        std::optional<std::span<const uint8_t>> value;
        if (r.value) value = std::span<const uint8_t>(*r.value);
        try {
          if (auto decoded = decode_txn_record(*r.key, value)) apply(std::move(*decoded));
        } catch (const protocol::DecodeError& e) {
          log()->error("Skipping an undecodable record at offset {} of {}: {}",
                       batch.header.base_offset + r.offset_delta, name, e.what());
        }
      }
    }
  }
}

}  // namespace samsa::broker::txn
