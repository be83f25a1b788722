#pragma once
// The group coordinator: classic consumer groups (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup), committed offsets and the admin views, for the
// groups whose __consumer_offsets partition this broker leads.
//
// A group lives in partition partition_for(group_id) of __consumer_offsets.
// When this broker becomes leader of such a partition the coordinator
// replays it on its loader thread (COORDINATOR_LOAD_IN_PROGRESS meanwhile);
// when it stops leading it the groups are dropped (NOT_COORDINATOR) and the
// clients find the new leader, which loads them from its replica. Every
// change is appended there with acks=-1 and applied in memory, and
// answered, only once the ISR has it. Each group has its own lock; the group
// map has a short one; nothing blocks across groups, and no lock is held
// while a write waits for replication.
//
// Timers (session expiry, rebalance and sync deadlines, the initial
// rebalance delay, offset retention) are checked by a periodic tick on the
// broker's Scheduler.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "samsa/broker/group/classic_group.h"
#include "samsa/broker/group/load_executor.h"
#include "samsa/broker/group/offsets_log.h"
#include "samsa/protocol/error_code.h"

namespace samsa::broker {
struct BrokerServices;
class MetadataImage;
namespace txn {
struct TxnMarkerWritten;
}
}  // namespace samsa::broker

namespace samsa::broker::group {

struct CoordinatorConfig {
  int32_t offsets_partitions = 50;                 // offsets.topic.num.partitions
  int32_t initial_rebalance_delay_ms = 3000;       // group.initial.rebalance.delay.ms
  int32_t min_session_timeout_ms = 6000;           // group.min.session.timeout.ms
  int32_t max_session_timeout_ms = 1800000;        // group.max.session.timeout.ms
  int32_t max_size = 0x7fffffff;                   // group.max.size
  int64_t offsets_retention_ms = 7LL * 24 * 3600 * 1000;  // offsets.retention.minutes
  int64_t retention_check_interval_ms = 600000;    // offsets.retention.check.interval.ms
  int32_t offset_metadata_max_bytes = 4096;        // offset.metadata.max.bytes
  int64_t tick_ms = 100;                           // how often deadlines are checked
  int32_t commit_timeout_ms = kDefaultCommitTimeoutMs;  // offsets.commit.timeout.ms
};

struct JoinRequest {
  std::string group_id;
  std::string member_id;  // "" for a new member
  std::optional<std::string> group_instance_id;
  bool require_known_member_id = false;  // JoinGroup v4+
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<Protocol> protocols;
};

struct SyncRequest {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::optional<std::string> protocol_type;  // v5+
  std::optional<std::string> protocol_name;  // v5+
  std::vector<std::pair<std::string, std::vector<uint8_t>>> assignments;  // leader only
};

struct LeavingMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
};
struct LeaveResult {
  protocol::ErrorCode error = protocol::ErrorCode::NONE;  // whole request
  std::vector<protocol::ErrorCode> members;               // per member, request order
};

struct CommitRequest {
  int16_t api_version = 9;  // v9+: GROUP_ID_NOT_FOUND instead of ILLEGAL_GENERATION
  std::string group_id;
  int32_t generation_id = -1;  // -1: simple commit (no group membership)
  std::string member_id;
  std::optional<std::string> group_instance_id;
  int64_t retention_ms = -1;  // v2-4 retention_time_ms; -1: offsets.retention.minutes
  struct Partition {
    std::string topic;
    int32_t partition = 0;
    int64_t offset = 0;
    int32_t leader_epoch = -1;
    std::optional<std::string> metadata;
    int64_t commit_timestamp_ms = -1;  // v1 only; -1: now
  };
  std::vector<Partition> partitions;
};

// TxnOffsetCommit: offsets committed inside a producer's transaction.
// generation/member/instance are v3+ (defaults: none given).
struct TxnCommitRequest {
  std::string transactional_id;
  std::string group_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  // TxnOffsetCommit v5 (transactions v2, KIP-890 part 2): the client sent no
  // AddOffsetsToTxn; the group's partition is added to the transaction
  // (instead of only verified), whatever the verification switch says.
  bool add_partition = false;
  struct Partition {
    std::string topic;
    int32_t partition = 0;
    int64_t offset = 0;
    int32_t leader_epoch = -1;
    std::optional<std::string> metadata;
  };
  std::vector<Partition> partitions;
};

struct TopicPartitions {
  std::string topic;
  std::vector<int32_t> partitions;
};

struct FetchedOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  protocol::ErrorCode error = protocol::ErrorCode::NONE;
};

struct GroupListing {
  std::string group_id;
  std::string protocol_type;
  GroupState state = GroupState::kEmpty;
};

struct MemberDescription {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::vector<uint8_t> metadata;
  std::vector<uint8_t> assignment;
};
struct GroupDescription {
  protocol::ErrorCode error = protocol::ErrorCode::NONE;
  std::string state = "Dead";
  std::string protocol_type;
  std::string protocol;
  std::vector<MemberDescription> members;
};

class GroupCoordinator {
 public:
  GroupCoordinator(BrokerServices& services, CoordinatorConfig config);
  ~GroupCoordinator();

  // Starts the periodic tick on the services' scheduler.
  void start();
  // Follows the metadata image: loads (on the loader thread) the
  // __consumer_offsets partitions this broker now leads and drops the groups
  // of those it no longer leads. A new leader epoch with this broker still
  // leader keeps the loaded groups.
  void on_image(const MetadataImage& image);
  // Blocks until the loads queued so far have finished.
  void await_loads();

  int32_t partition_for(const std::string& group_id) const;
  // NONE when this broker coordinates the group and has loaded its
  // partition; else COORDINATOR_LOAD_IN_PROGRESS or NOT_COORDINATOR.
  protocol::ErrorCode check(const std::string& group_id) const;
  // Creates __consumer_offsets if it does not exist yet (FindCoordinator).
  protocol::ErrorCode ensure_offsets_topic();

  // --- classic membership ---
  void join(JoinRequest request, JoinCallback done);
  void sync(SyncRequest request, SyncCallback done);
  protocol::ErrorCode heartbeat(const std::string& group_id, const std::string& member_id,
                                const std::optional<std::string>& group_instance_id, int32_t generation_id);
  LeaveResult leave(const std::string& group_id, const std::vector<LeavingMember>& members);

  // --- offsets ---
  // `done` gets one error per partition, request order, once the commit is
  // replicated or failed; it may run on this thread before commit_offsets
  // returns, or later on another.
  using CommitCallback = std::function<void(std::vector<protocol::ErrorCode>)>;
  void commit_offsets(CommitRequest request, CommitCallback done);
  // nullopt topics: every committed offset of the group. Top-level error in
  // the return value (then `out` is empty). `require_stable` (OffsetFetch
  // v7+): a partition with a pending transactional offset answers
  // UNSTABLE_OFFSET_COMMIT (the client retries once the transaction ended).
  protocol::ErrorCode fetch_offsets(const std::string& group_id, const std::optional<std::vector<TopicPartitions>>& topics,
                                    std::vector<FetchedOffset>& out, bool require_stable = false);
  // TxnOffsetCommit (group_txn_offsets.cc): KIP-890 verification with the
  // transaction coordinator (services.txn_verifier, when
  // transaction.partition.verification.enable), Kafka's checks, then the
  // offsets are written as a transactional batch of the producer (acks=-1)
  // and kept pending until the producer's marker on the group's partition.
  // Same threading as commit_offsets.
  void commit_txn_offsets(TxnCommitRequest request, CommitCallback done);
  // services.on_txn_marker_written: a COMMIT/ABORT marker was written and
  // replicated on a partition led here. On a __consumer_offsets partition
  // the producer's pending offsets of its groups take effect (COMMIT) or are
  // dropped (ABORT). Any thread; takes group locks.
  void on_txn_marker_written(const txn::TxnMarkerWritten& marker);
  // OffsetDelete: `done` gets the top-level error and, when NONE, one error
  // per requested partition (request order). Same threading as commits.
  using DeleteOffsetsCallback = std::function<void(protocol::ErrorCode, std::vector<protocol::ErrorCode>)>;
  void delete_offsets(const std::string& group_id, const std::vector<TopicPartitions>& topics,
                      DeleteOffsetsCallback done);

  // --- admin ---
  protocol::ErrorCode list_groups(const std::set<GroupState>& states, std::vector<GroupListing>& out) const;
  GroupDescription describe(const std::string& group_id);
  // Same threading as commits.
  void delete_group(const std::string& group_id, std::function<void(protocol::ErrorCode)> done);

  // For tests: runs the timer checks now.
  void tick();
  // For tests: replaces the clock (milliseconds since the epoch).
  void set_clock(std::function<int64_t()> now) { now_ = std::move(now); }

 private:
  enum class PartitionState { kLoading, kLoaded };
  struct Partition {
    PartitionState state = PartitionState::kLoading;
    uint64_t load_id = 0;  // which load this is: a load finishing for a dropped and re-led partition is stale
    // Transactional offsets (group_txn_offsets.cc). The groups with pending
    // offsets of each producer, so its marker finds them.
    std::map<int64_t, std::set<std::string>> open_txns;
    // TxnOffsetCommit writes not yet acknowledged, per producer, and the
    // markers written meanwhile: replicated writes complete in any order,
    // so a write can be acknowledged after the marker that ended its
    // transaction (an abort on timeout); it then takes that marker's outcome.
    std::map<int64_t, int32_t> txn_writes_in_flight;
    std::map<int64_t, std::vector<std::pair<int64_t, bool>>> markers_seen;  // producer -> (offset, commit)
    // Markers written while the partition loads, replayed once it loaded.
    std::vector<std::pair<int64_t, std::pair<int64_t, bool>>> markers_during_load;  // (producer, (offset, commit))
  };
  // Runs under the group's lock once a write finished, with a Deferred for
  // replies (released after the lock).
  using StoredCallback = std::function<void(Group&, const AppendOutcome&, Deferred&)>;

  std::shared_ptr<Group> find(const std::string& group_id) const;
  std::shared_ptr<Group> get_or_create(const std::string& group_id);
  void erase_if_dead(const std::shared_ptr<Group>& group);
  std::vector<std::shared_ptr<Group>> all_groups() const;
  void load_partition(int32_t partition, uint64_t load_id);
  // Appends `records` for group `g` after `later` releases the group lock;
  // then calls `stored` with the group locked.
  void write(Group& g, std::vector<CoordinatorRecord> records, Deferred& later, StoredCallback stored);

  // --- membership (group_membership.cc), called with the group locked ---
  void join_new_member(Group& g, JoinRequest& r, JoinCallback& done, Deferred& later);
  void join_static_member(Group& g, JoinRequest& r, const std::string& new_id, JoinCallback& done, Deferred& later);
  void join_known_member(Group& g, JoinRequest& r, JoinCallback& done, Deferred& later);
  void add_member_and_rebalance(Group& g, JoinRequest& r, const std::string& member_id, JoinCallback& done,
                                Deferred& later);
  void update_member_and_rebalance(Group& g, Member& m, JoinRequest& r, JoinCallback& done, Deferred& later);
  void prepare_rebalance(Group& g, const char* reason, Deferred& later);
  void maybe_prepare_rebalance(Group& g, const char* reason, Deferred& later);
  void try_complete_join(Group& g, Deferred& later);
  void complete_join(Group& g, Deferred& later);
  void remove_member_and_update(Group& g, const std::string& member_id, const char* reason, Deferred& later);
  void reset_and_propagate_assignment_error(Group& g, protocol::ErrorCode error, Deferred& later);
  void propagate_assignment(Group& g, Deferred& later);
  JoinResult current_join_result(const Group& g, const std::string& member_id) const;
  void heartbeat_received(Member& m);
  void check_deadlines(Group& g, int64_t now, Deferred& later);
  // Writes the group's metadata (write()); `stored` as there.
  void store_group(Group& g, Deferred& later, StoredCallback stored);

  // --- transactional offsets (group_txn_offsets.cc) ---
  // The producer's marker on `partition`: resolves its groups' pending offsets.
  void end_txn(int32_t partition, int64_t producer_id, bool commit, int64_t marker_offset);
  // After verification: checks the group and writes the offsets (`known`:
  // the request's partitions of existing topics; `guard`: the KIP-890
  // verification guard the append presents, nullopt without verification).
  void write_txn_offsets(TxnCommitRequest r, std::optional<uint64_t> guard, std::vector<protocol::ErrorCode> errors,
                         std::vector<size_t> known, CommitCallback done);

  // --- offsets (group_offsets.cc) ---
  void expire_offsets(int64_t now);
  // A deleted topic takes its committed offsets with it (a topic created
  // again under the same name starts without them), as in Kafka.
  void delete_offsets_of_topics(const std::set<std::string>& topics);

  int64_t now() const { return now_(); }

  BrokerServices& services_;
  CoordinatorConfig config_;
  OffsetsLog log_;
  std::function<int64_t()> now_;

  mutable std::mutex mu_;  // groups_ and partitions_; taken after a group lock, never before one
  std::map<std::string, std::shared_ptr<Group>> groups_;
  std::map<int32_t, Partition> partitions_;  // __consumer_offsets partitions led here
  std::optional<std::set<std::string>> topics_;  // topic names of the last image seen
  int64_t last_retention_check_ms_ = 0;
  std::atomic<bool> started_{false};
  uint64_t next_load_id_ = 0;  // under mu_
  // A CreateTopics for __consumer_offsets is on its way to the controller.
  std::shared_ptr<std::atomic<bool>> offsets_topic_requested_ = std::make_shared<std::atomic<bool>>(false);
  // Last member: destroyed first, so no load runs on a half-destroyed coordinator.
  LoadExecutor loader_;
};

}  // namespace samsa::broker::group
