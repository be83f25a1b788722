#include "samsa/raft/metadata_log.h"

#include <chrono>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "samsa/protocol/gen/leader_change_message.h"
#include "samsa/raft/quorum_state.h"
#include "samsa/raft/snapshot_file.h"
#include "samsa/util/env.h"
#include "samsa/util/logging.h"

namespace samsa::raft {

namespace {

constexpr int16_t kLeaderChangeType = 2;  // ControlRecordType.LEADER_CHANGE

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.raft.KafkaRaftClient");
  return l;
}

// Kafka's metadata topic id: a Uuid with only its lowest bit set.
protocol::Uuid metadata_topic_id() {
  protocol::Uuid id;
  id.bytes[15] = 1;
  return id;
}

}  // namespace

std::unique_ptr<MetadataLog> MetadataLog::open(const MetadataLogOptions& options) {
  std::unique_ptr<MetadataLog> self(new MetadataLog());
  log::LogOpenOptions open;
  open.dir = (std::filesystem::path(options.metadata_dir) / (std::string(kTopic) + "-0")).string();
  open.tp = log::TopicPartition{kTopic, 0};
  open.topic_id = metadata_topic_id();
  open.config = options.config;
  open.config.fsync_per_append = true;
  open.clean_shutdown = false;  // small log: always verify it
  open.on_io_error = options.on_io_error;
  auto opened = log::Log::open(open);
  if (!opened) throw std::runtime_error("cannot open the metadata log: " + opened.error().message);
  self->log_ = std::move(*opened);
  self->dir_ = open.dir;

  // Election of a single voter: the next epoch is ours.
  auto previous = QuorumState::read(open.dir);
  QuorumState state;
  state.leader_epoch = (previous ? previous->leader_epoch : 0) + 1;
  state.leader_id = options.node_id;
  state.voted_id = options.node_id;
  state.voters = options.voters;
  state.write(open.dir);
  self->epoch_ = state.leader_epoch;

  self->has_data_ = self->latest_snapshot().has_value();
  self->replay([&](const protocol::BatchView& batch) {
    if (!batch.header.is_control()) self->has_data_ = true;
  });
  self->append_leader_change(options.voters, options.node_id);
  log()->info("Became leader of {}-0 in epoch {} at offset {}", kTopic, self->epoch_, self->end_offset());
  return self;
}

MetadataLog::~MetadataLog() {
  try {
    close();
  } catch (const std::exception& e) {
    // Already reported through on_io_error; a destructor must not throw.
    log()->error("Closing the metadata log failed: {}", e.what());
  }
}

void MetadataLog::append_leader_change(const std::vector<int32_t>& voters, int32_t node_id) {
  protocol::LeaderChangeMessage message;
  message.version = 0;
  message.leader_id = node_id;
  for (int32_t v : voters) {
    protocol::LeaderChangeMessage::Voter voter;
    voter.voter_id = v;
    message.voters.push_back(voter);
    message.granting_voters.push_back(voter);
  }
  protocol::WireWriter key;
  key.int16(0);
  key.int16(kLeaderChangeType);
  protocol::WireWriter value;
  message.encode(value, 0);
  protocol::RecordBatchOptions opts;
  opts.base_offset = end_offset();
  opts.partition_leader_epoch = epoch_;
  opts.control = true;
  protocol::RecordBatchBuilder builder(opts);
  builder.append(now_ms(), key.view(), value.view());
  append_batch(builder.build());
}

int64_t MetadataLog::append(const std::vector<std::vector<uint8_t>>& values) {
  protocol::RecordBatchOptions opts;
  opts.base_offset = end_offset();
  opts.partition_leader_epoch = epoch_;
  protocol::RecordBatchBuilder builder(opts);
  int64_t ts = now_ms();
  for (const auto& v : values) builder.append(ts, std::nullopt, std::span<const uint8_t>(v));
  int64_t base = append_batch(builder.build());
  has_data_ = true;
  return base;
}

int64_t MetadataLog::append_batch(std::vector<uint8_t> batch) {
  auto result = log_->append_as_leader(batch, epoch_, log::AppendOrigin::kCoordinator);
  if (!result) throw std::runtime_error("metadata log append failed: " + result.error().message);
  log_->set_high_watermark(log_->log_end_offset());  // one voter: durable = committed
  return result->first_offset;
}

void MetadataLog::replay(const std::function<void(const protocol::BatchView&)>& on_batch, int64_t from_offset) const {
  int64_t offset = std::max(log_->log_start_offset(), from_offset);
  int64_t end = log_->log_end_offset();
  std::vector<uint8_t> buffer;
  while (offset < end) {
    auto range = log_->read(offset, 8u << 20, true, end);
    if (!range) throw std::runtime_error("metadata log read failed: " + range.error().message);
    if (range->size == 0) break;
    buffer.resize(range->size);
    size_t got = range->file->pread_some(buffer, range->position);
    if (got != range->size) throw std::runtime_error("metadata log read came up short");
    auto split = protocol::split_batches(buffer, /*require_complete=*/true);
    for (const auto& batch : split.batches) {
      if (batch.header.base_offset >= from_offset) on_batch(batch);
      offset = batch.header.next_offset();
    }
  }
}

std::optional<SnapshotId> MetadataLog::latest_snapshot() const {
  std::optional<SnapshotId> best;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    std::string name = entry.path().filename().string();
    // 20 digits, '-', 10 digits, ".checkpoint"
    if (name.size() != 42 || name[20] != '-' || name.substr(31) != ".checkpoint") continue;
    try {
      SnapshotId id{std::stoll(name.substr(0, 20)), std::stoi(name.substr(21, 10))};
      if (!best || id.end_offset > best->end_offset) best = id;
    } catch (const std::exception&) {
    }
  }
  return best;
}

std::string MetadataLog::snapshot_path(const SnapshotId& id) const {
  return (std::filesystem::path(dir_) / fmt::format("{:020}-{:010}.checkpoint", id.end_offset, id.epoch)).string();
}

void MetadataLog::write_snapshot(const SnapshotId& id, const std::vector<std::vector<uint8_t>>& values) {
  write_snapshot_file(snapshot_path(id), values, id.epoch);
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    std::string name = entry.path().filename().string();
    if (name.size() == 42 && name.substr(31) == ".checkpoint" && entry.path().string() != snapshot_path(id))
      std::filesystem::remove(entry.path());
  }
  log()->info("Wrote snapshot {} of {}-0 ({} records)", snapshot_path(id), kTopic, values.size());
}

void MetadataLog::close() {
  if (log_) {
    log_->close();
    log_.reset();
  }
}

}  // namespace samsa::raft
