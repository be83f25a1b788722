#include "samsa/raft/single_voter_metadata_raft.h"

#include <chrono>

#include "samsa/raft/snapshot_file.h"
#include "samsa/util/logging.h"

namespace samsa::raft {

namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.raft.KafkaRaftClient");
  return l;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string> record_values(const protocol::BatchView& batch) {
  std::vector<std::string> out;
  for (const protocol::Record& r : protocol::decode_records(batch)) {
    if (!r.value) throw std::runtime_error("a metadata record has a null value");
    out.emplace_back(r.value->begin(), r.value->end());
  }
  return out;
}

}  // namespace

SingleVoterMetadataRaft::SingleVoterMetadataRaft(const MetadataLogOptions& options)
    : node_id_(options.node_id), log_(MetadataLog::open(options)) {
  epoch_ = log_->epoch();
}

SingleVoterMetadataRaft::~SingleVoterMetadataRaft() {
  try {
    close();
  } catch (const std::exception& e) {
    log()->error("Closing the metadata log failed: {}", e.what());
  }
}

void SingleVoterMetadataRaft::start() { thread_ = std::thread([this] { run(); }); }

void SingleVoterMetadataRaft::close() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::recursive_mutex> lock(log_mu_);
  if (log_) {
    log_->close();
    log_.reset();
  }
}

LeaderAndEpoch SingleVoterMetadataRaft::leader() const { return {node_id_, epoch_}; }

Offset SingleVoterMetadataRaft::high_watermark() const {
  std::lock_guard<std::recursive_mutex> lock(log_mu_);
  return log_ ? log_->end_offset() : 0;
}

std::variant<Offset, AppendError> SingleVoterMetadataRaft::append(Epoch epoch, std::vector<std::string> records) {
  if (epoch != epoch_) return AppendError::kNotLeader;
  if (records.empty()) return AppendError::kTooLarge;  // nothing to append is not a batch
  CommittedBatch batch;
  {
    std::lock_guard<std::recursive_mutex> lock(log_mu_);
    if (!log_) return AppendError::kNotLeader;
    std::vector<std::vector<uint8_t>> values;
    values.reserve(records.size());
    for (const auto& r : records) values.emplace_back(r.begin(), r.end());
    try {
      batch.base_offset = log_->append(values);  // durable: with one voter, committed
    } catch (const std::exception& e) {
      log()->error("Appending to the metadata log failed: {}", e.what());
      return AppendError::kIoError;
    }
    batch.last_offset = batch.base_offset + static_cast<Offset>(records.size()) - 1;
    batch.epoch = epoch_;
    batch.append_time_ms = now_ms();
    batch.records = std::move(records);
    // Queued under the log lock, so batches reach the listener in offset order.
    std::lock_guard queue(queue_mu_);
    queue_.push_back(batch);
  }
  queue_cv_.notify_all();
  return batch.last_offset;
}

void SingleVoterMetadataRaft::create_snapshot(OffsetAndEpoch id, std::vector<std::string> records) {
  std::vector<std::vector<uint8_t>> values;
  values.reserve(records.size());
  for (const auto& r : records) values.emplace_back(r.begin(), r.end());
  std::lock_guard<std::recursive_mutex> lock(log_mu_);
  if (!log_) return;
  log_->write_snapshot(SnapshotId{id.offset, id.epoch}, values);
}

void SingleVoterMetadataRaft::load() {
  std::optional<SnapshotId> snapshot;
  Offset from = 0;
  {
    std::lock_guard<std::recursive_mutex> lock(log_mu_);
    snapshot = log_->latest_snapshot();
    if (snapshot) {
      std::vector<std::string> records;
      read_snapshot_file(log_->snapshot_path(*snapshot), [&](const protocol::BatchView& batch) {
        for (auto& r : record_values(batch)) records.push_back(std::move(r));
      });
      if (listener_) listener_->handle_load_snapshot({snapshot->end_offset, snapshot->epoch}, records);
      from = snapshot->end_offset;
    }
    size_t batches = 0;
    log_->replay(
        [&](const protocol::BatchView& view) {
          CommittedBatch batch;
          batch.base_offset = view.header.base_offset;
          batch.last_offset = view.header.base_offset + view.header.last_offset_delta;
          batch.epoch = view.header.partition_leader_epoch;
          batch.append_time_ms = view.header.max_timestamp;
          batch.control = view.header.is_control();
          if (!batch.control) batch.records = record_values(view);
          if (listener_) listener_->handle_commit(batch);
          ++batches;
        },
        from);
    log()->info("Replayed {} metadata batches after offset {} up to {}", batches, from, log_->end_offset());
  }
  if (listener_) listener_->handle_leader_change({node_id_, epoch_});
}

void SingleVoterMetadataRaft::run() {
  try {
    load();
  } catch (const std::exception& e) {
    log()->error("Loading the metadata log failed: {}", e.what());
  }
  for (;;) {
    CommittedBatch batch;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything delivered
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    if (listener_) listener_->handle_commit(batch);
  }
}

}  // namespace samsa::raft
