#include "samsa/broker/metadata/metadata_loader.h"

#include <span>

#include "samsa/broker/metadata/image_records.h"
#include "samsa/broker/metadata/metadata_delta.h"
#include "samsa/util/logging.h"

namespace samsa::broker::metadata {

namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.image.loader.MetadataLoader");
  return l;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

MetadataLoader::MetadataLoader(MetadataCache& cache, std::shared_ptr<const MetadataImage> base,
                               MetadataLoaderOptions options)
    : cache_(cache), base_(std::move(base)), options_(options) {
  cache_.publish(base_);
}

void MetadataLoader::install_publisher(Publisher publisher) {
  std::lock_guard lock(apply_mu_);
  publisher(cache_.current());
  publishers_.push_back(std::move(publisher));
}

void MetadataLoader::publish(std::shared_ptr<const MetadataImage> image) {
  cache_.publish(image);
  for (const auto& p : publishers_) p(image);
}

void MetadataLoader::handle_load_snapshot(raft::OffsetAndEpoch id, const std::vector<std::string>& records) {
  std::lock_guard lock(apply_mu_);
  // A snapshot replaces everything; only the leader seen so far carries over.
  auto start = std::make_shared<MetadataImage>(*base_);
  start->quorum_leader_id = cache_.current()->quorum_leader_id;
  MetadataDelta delta(start);
  // Snapshot records have no offsets of their own: they all stand at the
  // snapshot's last included offset.
  const raft::Offset last = id.offset - 1;
  for (const auto& r : records) delta.replay(bytes(r), last);
  auto loaded = std::make_shared<MetadataImage>(*delta.apply());
  loaded->offset = last;
  publish(loaded);
  last_epoch_ = id.epoch;
  snapshot_end_ = id.offset;
  bytes_since_snapshot_ = 0;
  log()->info("Loaded the metadata snapshot {}-{} ({} records, {} topics)", id.offset, id.epoch, records.size(),
              loaded->topics->by_name.size());
  {
    std::lock_guard state(state_mu_);
    applied_ = last;
  }
  state_cv_.notify_all();
}

void MetadataLoader::handle_commit(const raft::CommittedBatch& batch) {
  std::lock_guard lock(apply_mu_);
  if (!batch.control && !batch.records.empty()) {
    try {
      MetadataDelta delta(cache_.current());
      raft::Offset offset = batch.base_offset;
      for (const auto& r : batch.records) {
        delta.replay(bytes(r), offset++);
        bytes_since_snapshot_ += static_cast<int64_t>(r.size());
      }
      publish(delta.apply());
    } catch (const std::exception& e) {
      // Kafka's loader reports a fault and goes on with the next batch.
      log()->error("Skipping the metadata batch at offsets {}..{}: {}", batch.base_offset, batch.last_offset,
                   e.what());
    }
  }
  last_epoch_ = batch.epoch;
  {
    std::lock_guard state(state_mu_);
    applied_ = batch.last_offset;
  }
  state_cv_.notify_all();
  if (bytes_since_snapshot_ >= options_.max_bytes_between_snapshots) snapshot_locked();
}

void MetadataLoader::handle_leader_change(raft::LeaderAndEpoch leader) {
  {
    std::lock_guard lock(apply_mu_);
    auto current = cache_.current();
    if (current->quorum_leader_id != leader.leader_id) {
      auto next = std::make_shared<MetadataImage>(*current);
      next->quorum_leader_id = leader.leader_id;
      publish(next);
    }
  }
  {
    std::lock_guard state(state_mu_);
    leader_ = leader;
  }
  state_cv_.notify_all();
  if (leader.leader_id != raft::kNoNode)
    log()->info("The metadata quorum leader is {} in epoch {}{}", leader.leader_id, leader.epoch,
                leader.leader_id == options_.node_id ? " (this node: active controller)" : "");
  if (leader.leader_id == options_.node_id && on_activation_) on_activation_(leader.epoch);
}

raft::Offset MetadataLoader::applied_offset() const {
  std::lock_guard state(state_mu_);
  return applied_;
}

raft::LeaderAndEpoch MetadataLoader::leader() const {
  std::lock_guard state(state_mu_);
  return leader_;
}

std::optional<raft::Epoch> MetadataLoader::active_epoch() const {
  std::lock_guard state(state_mu_);
  if (leader_.leader_id != options_.node_id || options_.node_id < 0) return std::nullopt;
  return leader_.epoch;
}

MetadataLoader::WaitResult MetadataLoader::wait_until_applied(raft::Offset offset,
                                                              std::optional<raft::Epoch> written_in,
                                                              Clock::time_point deadline) const {
  std::unique_lock state(state_mu_);
  for (;;) {
    if (applied_ >= offset) return WaitResult::kApplied;
    if (written_in && (leader_.epoch > *written_in || leader_.leader_id != options_.node_id))
      return WaitResult::kLeadershipLost;
    if (state_cv_.wait_until(state, deadline) == std::cv_status::timeout) {
      if (applied_ >= offset) return WaitResult::kApplied;
      return WaitResult::kTimedOut;
    }
  }
}

bool MetadataLoader::wait_for_leader(Clock::time_point deadline) const {
  std::unique_lock state(state_mu_);
  return state_cv_.wait_until(state, deadline, [&] { return leader_.leader_id != raft::kNoNode; });
}

void MetadataLoader::snapshot_now() {
  std::lock_guard lock(apply_mu_);
  snapshot_locked();
}

void MetadataLoader::snapshot_locked() {
  if (snapshot_target_ == nullptr) return;
  raft::Offset end = applied_offset() + 1;
  if (end <= snapshot_end_) return;
  auto image = cache_.current();
  std::vector<std::string> records;
  for (const auto& r : image_to_records(*image)) {
    auto framed = frame(r);
    records.emplace_back(framed.begin(), framed.end());
  }
  try {
    snapshot_target_->create_snapshot({end, last_epoch_}, std::move(records));
    snapshot_end_ = end;
    bytes_since_snapshot_ = 0;
  } catch (const std::exception& e) {
    log()->error("Writing a metadata snapshot at offset {} failed: {}", end, e.what());
  }
}

}  // namespace samsa::broker::metadata
