#pragma once
// One partition this broker hosts, as leader or follower (Kafka's
// cluster/Partition.scala is the model). It owns everything replication
// decides for the partition: role, leader epoch, partition epoch, the ISR
// (committed from the metadata image, plus the "maximal" ISR while an
// AlterPartition is in flight), each follower's fetch position, the high
// watermark and the log start offset. Produce, Fetch, ListOffsets,
// DeleteRecords and the coordinators reach the log only through here.
//
// Threads: every method is safe from any thread. State changes take the
// partition's own mutex (never a global one); log I/O happens outside it
// except where Kafka also holds the leader-ISR lock (leader append, so an
// append never lands in a stale epoch).
//
// Errors are values: PartitionError carries the Kafka code (the broker
// module speaks Kafka codes; the log's own codes are mapped by
// kafka_error() in fetch/partition_access.h, the one place).
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "samsa/broker/metadata_image.h"
#include "samsa/log/log.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/uuid.h"

namespace samsa::broker::replica {

struct PartitionError {
  protocol::ErrorCode code = protocol::ErrorCode::NONE;
  std::string message = {};                  // optional detail for the client
  std::vector<log::RecordError> record_errors = {};  // Produce v8+ per-record errors
};

// A value or a PartitionError.
template <typename T>
class PartitionResult {
 public:
  PartitionResult(T value) : v_(std::move(value)) {}
  PartitionResult(PartitionError error) : v_(std::move(error)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const PartitionError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, PartitionError> v_;
};

enum class Role { kNone, kLeader, kFollower };

// What a replica of this partition last told the leader (leader side only).
struct ReplicaState {
  int32_t broker_id = -1;
  int64_t broker_epoch = -1;        // from the follower's Fetch (ReplicaState.ReplicaEpoch), KIP-903
  int64_t log_end_offset = -1;      // the follower's fetch offset
  int64_t log_start_offset = -1;
  int64_t last_fetch_ms = 0;
  int64_t last_caught_up_ms = 0;    // last time it had everything the leader had
  int64_t last_fetch_leader_log_end = -1;  // the leader's log end at its previous fetch
};

// An ISR change the leader wants the controller to make (AlterPartition),
// see alter_partition_sender.h.
struct IsrUpdate;

// What this partition's metadata says after an image was applied.
enum class Transition { kUnchanged, kBecameLeader, kBecameFollower, kLeaderChanged, kIsrChanged, kRemoved };

// Hooks the partition calls; set by the ReplicaManager.
struct PartitionHooks {
  // The high watermark (or, for fetchers that read to the log end, the log
  // end) moved: parked fetches and acks=all produces re-check.
  std::function<void(const std::string& topic, int32_t partition)> on_progress;
  // Send an ISR change to the controller; the callback runs with the
  // controller's answer (or a timeout) on any thread.
  std::function<void(std::shared_ptr<IsrUpdate>)> send_isr_update;
  // Milliseconds, monotonic; tests replace it.
  std::function<int64_t()> now_ms;
};

class Partition : public std::enable_shared_from_this<Partition> {
 public:
  Partition(std::string topic, int32_t index, protocol::Uuid topic_id, std::shared_ptr<log::Log> log,
            int32_t local_broker_id, PartitionHooks hooks);

  const std::string& topic() const { return topic_; }
  int32_t index() const { return index_; }
  const protocol::Uuid& topic_id() const { return topic_id_; }
  // The log; for readers that only need bytes (fetch ranges, offsets by
  // timestamp). Writes go through the methods below.
  const std::shared_ptr<log::Log>& log() const { return log_; }

  // --- metadata ---
  // Takes the leader, epochs, replicas and ISR from the image (the
  // controller's word is final): becoming leader resets the followers'
  // positions (unknown until they fetch), becoming follower truncates
  // nothing (the fetcher does that from the leader's answer). A partition
  // epoch older than the one already applied is ignored. `min_insync` is
  // the topic's effective min.insync.replicas.
  Transition apply_metadata(const PartitionImage& p, const MetadataImage& image, int32_t min_insync);

  Role role() const;
  int32_t leader_id() const;
  int32_t leader_epoch() const;
  int32_t partition_epoch() const;
  std::vector<int32_t> isr() const;          // committed (from the image)
  std::vector<int32_t> maximal_isr() const;  // isr ∪ replicas an in-flight expansion adds
  int32_t min_insync_replicas() const;
  int64_t high_watermark() const { return log_->high_watermark(); }
  // read_committed consumers read below it (log.h); it moves with the high
  // watermark and with markers, both of which wake parked fetches.
  int64_t last_stable_offset() const { return log_->last_stable_offset(); }
  int64_t log_start_offset() const { return log_->log_start_offset(); }
  int64_t log_end_offset() const { return log_->log_end_offset(); }

  // NONE, FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH for a client's
  // current_leader_epoch (-1: no check), NOT_LEADER_OR_FOLLOWER when
  // `require_leader` and this broker does not lead.
  protocol::ErrorCode check_epoch(int32_t current_leader_epoch, bool require_leader) const;

  // --- leader side ---
  // Appends a client's (or a coordinator's) batches in the current leader
  // epoch. acks=-1 first checks ISR size >= min.insync.replicas
  // (NOT_ENOUGH_REPLICAS). On success the caller waits, for acks=-1, until
  // check_replicated(info.last_offset + 1) says so.
  // `verification_guard`: Log::append_as_leader (KIP-890 part 1).
  // `stage_owner`: the log may stage the append (Log::append_as_leader);
  // a staged one (info.staged) moves nothing until publish_staged().
  PartitionResult<log::AppendInfo> append_as_leader(std::span<uint8_t> batches, int16_t required_acks,
                                                    log::AppendOrigin origin = log::AppendOrigin::kClient,
                                                    std::optional<uint64_t> verification_guard = std::nullopt,
                                                    std::shared_ptr<const void> stage_owner = nullptr);
  // Makes a staged append ending at `end_offset` readable (Log::write_staged),
  // then does what append_as_leader does after a written one: the high
  // watermark, and waking fetches and parked produces. An error means the
  // append is not in the log (the log is offline or gone).
  std::optional<PartitionError> publish_staged(int64_t end_offset);
  // For a parked acks=-1 produce: nullopt while the high watermark is below
  // `required_offset`; then NONE, or NOT_ENOUGH_REPLICAS_AFTER_APPEND when
  // the ISR shrank below min.insync.replicas; NOT_LEADER_OR_FOLLOWER if
  // leadership moved away meanwhile.
  std::optional<protocol::ErrorCode> check_replicated(int64_t required_offset) const;
  // For a produce whose append awaits_flush (durable mode): nullopt while
  // the log's durable offset is at or below `required_offset - 1`; NONE once
  // it is past; KAFKA_STORAGE_ERROR when the log went offline (a failed
  // fsync). Any role: the local flush happens whoever leads now.
  std::optional<protocol::ErrorCode> check_durable(int64_t required_offset) const;
  // The log's flusher finished a flush (Log::set_durable_listener): the high
  // watermark may move, and parked produces and fetches re-check.
  void on_durable();

  // A follower fetched at `fetch_offset` (its log end): records its
  // position, expands the ISR when it caught up (AlterPartition), moves the
  // high watermark. `leader_end_at_read` is this log's end when the read
  // was made (Kafka's leaderEndOffset: "caught up" is measured against it).
  // Returns whether the high watermark or the follower's log start moved
  // (parked produces, fetches and DeleteRecords re-check). Ignored (false)
  // unless leader.
  bool update_follower_fetch_state(int32_t replica_id, int64_t replica_epoch, int64_t fetch_offset,
                                   int64_t follower_log_start, int64_t leader_end_at_read);
  // replica.lag.time.max.ms: drops followers that have not caught up for
  // that long from the ISR (AlterPartition). Periodic, leader only.
  void maybe_shrink_isr(int64_t replica_lag_time_max_ms);
  std::vector<ReplicaState> replica_states() const;
  // DeleteRecords (Kafka's lowWatermarkIfLeader): the lowest log start
  // offset of this log and of the replicas on live (registered, unfenced)
  // brokers, as their fetches reported it; -1 unless leader.
  int64_t low_watermark() const;
  std::vector<int32_t> replicas() const;
  bool is_replica(int32_t broker_id) const;

  // Fetch v12+ from a follower whose last fetched batch has epoch
  // `last_fetched_epoch`: (epoch, end offset) of where its log diverges from
  // this one (Kafka's Partition.fetchRecords), nullopt when it does not.
  std::optional<std::pair<int32_t, int64_t>> diverging_epoch(int64_t fetch_offset, int32_t last_fetched_epoch) const;

  // OffsetsForLeaderEpoch / Fetch diverging epoch: (epoch, end offset) of
  // the largest epoch <= `epoch` in this log; (-1, -1) when unknown.
  std::pair<int32_t, int64_t> end_offset_for_epoch(int32_t epoch) const;

  // --- follower side (the replica fetcher) ---
  // Batches as the leader wrote them (offsets, epochs, producer state).
  log::LogResult<log::AppendInfo> append_as_follower(std::span<const uint8_t> batches);
  log::LogResult<int64_t> truncate_to(int64_t offset);
  // Everything (fetch offset below the leader's log start): the log starts
  // again at `offset`.
  log::LogResult<int64_t> truncate_fully_and_start_at(int64_t offset);
  // From the leader's fetch answer: high watermark = min(leader's, own log
  // end); the log start moves up to the leader's.
  void update_from_leader(int64_t leader_high_watermark, int64_t leader_log_start);
  // The epoch of the last batch in the log (Fetch v12+ LastFetchedEpoch).
  std::optional<int32_t> latest_epoch() const;

  // --- ISR change answers (alter_partition_sender.h) ---
  void on_isr_update_result(const IsrUpdate& update, protocol::ErrorCode error, const PartitionImage* result);

 private:
  const std::string topic_;
  const int32_t index_;
  const protocol::Uuid topic_id_;
  const std::shared_ptr<log::Log> log_;
  const int32_t local_id_;
  PartitionHooks hooks_;

  int64_t now_ms() const;
  // Leader: the high watermark = min log end over the maximal ISR (the
  // leader's own counted up to its last completed append). REQUIRES: mu_.
  bool maybe_increment_hwm_locked();
  // REQUIRES: mu_. The update to send (outside the lock), or nullptr.
  std::shared_ptr<IsrUpdate> prepare_isr_update_locked(std::vector<int32_t> new_isr, bool expanding);

  // Kafka's leaderIsrUpdateLock: appends hold it shared, role and epoch
  // changes exclusively, so no append lands in an epoch no longer led.
  // Taken before mu_, never while holding it.
  mutable std::shared_mutex leader_isr_mu_;
  mutable std::mutex mu_;  // everything below; never held across another partition's lock
  Role role_ = Role::kNone;
  int32_t leader_id_ = -1;
  int32_t leader_epoch_ = -1;
  int32_t partition_epoch_ = -1;
  int32_t min_insync_ = 1;
  std::vector<int32_t> replicas_;
  std::vector<int32_t> isr_;
  std::vector<int32_t> maximal_isr_;
  std::shared_ptr<IsrUpdate> pending_isr_update_;  // at most one in flight
  std::vector<ReplicaState> remote_;               // leader only: every other replica
  int64_t leader_epoch_start_offset_ = -1;         // log end when this leader epoch began
  // The leader's own contribution to the high watermark: the end of its
  // last completed append (the log end may hold one still being fsynced).
  int64_t leader_end_ = 0;
  // Replicas (other than this broker) that may join the ISR now: registered,
  // unfenced, not shutting down; with their broker epoch (KIP-903, KIP-841).
  std::vector<std::pair<int32_t, int64_t>> eligible_;
  std::vector<int32_t> alive_;  // replicas (other than this broker) on registered, unfenced brokers
  int64_t local_broker_epoch_ = -1;
};

}  // namespace samsa::broker::replica
