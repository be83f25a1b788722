// RaftManager's listener thread: the latest snapshot first, then every
// committed batch in offset order, and leader changes (metadata_raft.h).
#include <chrono>
#include <utility>

#include "samsa/raft/server/disk_replicated_log.h"
#include "samsa/raft/server/raft_manager.h"
#include "samsa/raft/snapshot_file.h"
#include "samsa/util/logging.h"

namespace samsa::raft {

namespace {

const std::shared_ptr<spdlog::logger>& logger() {
  static auto l = samsa::logger("samsa.raft.RaftManager");
  return l;
}

constexpr size_t kMaxDeliveryBytes = 4u << 20;  // read per round; a larger batch still comes whole

// The snapshot's records; nullopt if it vanished or is corrupt.
std::optional<std::vector<std::string>> snapshot_records(const DiskReplicatedLog& log, OffsetAndEpoch id) {
  auto bytes = log.read_snapshot(id);
  if (!bytes) return std::nullopt;
  std::vector<std::string> records;
  try {
    std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
    decode_snapshot(data, [&](const protocol::BatchView& batch) {
      for (auto& r : protocol::decode_records(batch))
        records.emplace_back(r.value ? std::string(r.value->begin(), r.value->end()) : std::string());
    });
  } catch (const std::exception& e) {
    logger()->error("Snapshot {} is unreadable: {}", log.snapshot_path(id), e.what());
    return std::nullopt;
  }
  return records;
}

}  // namespace

void RaftManager::listener_loop() {
  Offset next = 0;  // the first offset not yet delivered
  std::optional<LeaderAndEpoch> announced;
  auto stopping = [this] {
    std::lock_guard lock(inbox_mu_);
    return stopping_;
  };
  auto load_snapshot = [&](std::optional<OffsetAndEpoch> id) -> bool {
    if (!id) id = log_->latest_snapshot();
    if (!id) return false;
    auto records = snapshot_records(*log_, *id);
    if (!records) return false;
    if (listener_) listener_->handle_load_snapshot(*id, *records);
    next = id->offset;
    logger()->info("Loaded snapshot at offset {} (epoch {}, {} records)", id->offset, id->epoch, records->size());
    return true;
  };
  try {
    load_snapshot(std::nullopt);
  } catch (const std::exception& e) {
    logger()->error("Loading the metadata snapshot failed: {}", e.what());
  }

  while (!stopping()) {
    Offset hw;
    LeaderAndEpoch leader;
    Offset epoch_start;
    std::optional<OffsetAndEpoch> fetched_snapshot;
    {
      std::unique_lock lock(state_mu_);
      auto ready = [&] {
        if (loaded_snapshot_ || high_watermark_ > next) return true;
        if (announced && leader_ == *announced) return false;
        return leader_.leader_id != options_.raft.node_id || next >= leader_epoch_start_;
      };
      state_cv_.wait_for(lock, std::chrono::milliseconds(100), ready);
      hw = high_watermark_;
      leader = leader_;
      epoch_start = leader_epoch_start_;
      fetched_snapshot = std::exchange(loaded_snapshot_, std::nullopt);
    }
    try {
      if (fetched_snapshot && fetched_snapshot->offset > next) {
        // The client replaced the log by a snapshot from the leader.
        if (!load_snapshot(fetched_snapshot)) throw std::runtime_error("the fetched snapshot does not load");
        continue;
      }
      if (hw > next) {
        if (next < log_->start_offset()) {
          // The log moved past what was delivered (reset to a snapshot).
          if (!load_snapshot(std::nullopt))
            throw std::runtime_error("the log starts above the listener and no snapshot loads");
          continue;
        }
        auto batches = log_->read_batches(next, hw, kMaxDeliveryBytes);
        if (batches.empty()) {  // the high watermark is ahead of this log for now
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          continue;
        }
        for (const auto& batch : batches) {
          if (listener_) listener_->handle_commit(batch);
          next = batch.last_offset + 1;
        }
        continue;  // deliver the rest before announcing a leader
      }
      if (announced && leader == *announced) continue;
      if (leader.leader_id == options_.raft.node_id && next < epoch_start) continue;
      if (listener_) listener_->handle_leader_change(leader);
      announced = leader;
    } catch (const std::out_of_range&) {
      if (!load_snapshot(std::nullopt)) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } catch (const std::exception& e) {
      if (stopping()) return;
      // Also while the Raft thread swaps the log for a fetched snapshot.
      logger()->warn("Delivering committed metadata failed at offset {}: {}", next, e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace samsa::raft
