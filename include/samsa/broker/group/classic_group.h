#pragma once
// One classic consumer group (the JoinGroup/SyncGroup protocol): members,
// generation, the selected protocol, committed offsets, and the state
// machine Kafka's ClassicGroup follows:
//
//   Empty --join--> PreparingRebalance --all joined / timeout--> CompletingRebalance
//   CompletingRebalance --leader's SyncGroup--> Stable --join/leave/expiry--> PreparingRebalance
//   (any) --all offsets expired / DeleteGroups--> Dead
//
// A Group is plain data guarded by its own mutex; the coordinator holds the
// lock while it runs the protocol (group_coordinator.h). Replies to parked
// JoinGroup/SyncGroup requests are callbacks kept on the member.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "samsa/broker/group/coordinator_records.h"
#include "samsa/protocol/error_code.h"

namespace samsa::broker::group {

enum class GroupState { kEmpty, kPreparingRebalance, kCompletingRebalance, kStable, kDead };
// Kafka's names: "Empty", "PreparingRebalance", ... (ListGroups, DescribeGroups).
const char* state_name(GroupState state);
std::optional<GroupState> parse_state(std::string_view name);  // case-insensitive

struct Protocol {
  std::string name;
  std::vector<uint8_t> metadata;
  bool operator==(const Protocol&) const = default;
};

// What a JoinGroup request gets back.
struct JoinResult {
  protocol::ErrorCode error = protocol::ErrorCode::NONE;
  int32_t generation_id = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  bool skip_assignment = false;
  std::string member_id;
  // The leader's view: every member with its metadata for the chosen protocol.
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::vector<uint8_t> metadata;
  };
  std::vector<Member> members;
};

struct SyncResult {
  protocol::ErrorCode error = protocol::ErrorCode::NONE;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<uint8_t> assignment;
};

using JoinCallback = std::function<void(JoinResult)>;
using SyncCallback = std::function<void(SyncResult)>;

// Replies collected under a group lock and sent after it is released: a
// reply can make its connection dispatch the next pipelined request at once,
// and that request may need the same lock. Declare it before the lock guard.
class Deferred {
 public:
  Deferred() = default;
  Deferred(const Deferred&) = delete;
  Deferred& operator=(const Deferred&) = delete;
  ~Deferred() { run(); }
  void add(std::function<void()> fn) { fns_.push_back(std::move(fn)); }
  void join(JoinCallback& cb, JoinResult result);  // takes the callback out of `cb`
  void sync(SyncCallback& cb, SyncResult result);
  void run() {
    auto fns = std::move(fns_);
    fns_.clear();
    for (auto& f : fns) f();
  }

 private:
  std::vector<std::function<void()>> fns_;
};

struct Member {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  std::string protocol_type;
  std::vector<Protocol> protocols;  // in the member's order of preference
  std::vector<uint8_t> assignment;
  JoinCallback awaiting_join;  // set while its JoinGroup is parked
  SyncCallback awaiting_sync;  // set while its SyncGroup is parked
  int64_t heartbeat_deadline_ms = 0;  // session expiry

  const std::vector<uint8_t>* metadata_for(const std::string& protocol) const;
  bool matches(const std::vector<Protocol>& other) const { return protocols == other; }
};

// Always owned by a shared_ptr: writes in flight keep the group alive.
class Group : public std::enable_shared_from_this<Group> {
 public:
  Group(std::string id, int32_t partition, int64_t now_ms) : id_(std::move(id)), partition_(partition), state_timestamp_ms_(now_ms) {}

  std::mutex mu;  // held by the coordinator around every use of the group

  const std::string& id() const { return id_; }
  int32_t partition() const { return partition_; }
  GroupState state() const { return state_; }
  void transition(GroupState next, int64_t now_ms);
  int64_t state_timestamp_ms() const { return state_timestamp_ms_; }

  int32_t generation() const { return generation_; }
  const std::optional<std::string>& protocol_type() const { return protocol_type_; }
  const std::optional<std::string>& protocol_name() const { return protocol_name_; }
  const std::optional<std::string>& leader() const { return leader_; }
  bool is_leader(const std::string& member_id) const { return leader_ && *leader_ == member_id; }

  // --- members ---
  std::map<std::string, Member>& members() { return members_; }
  const std::map<std::string, Member>& members() const { return members_; }
  Member* member(const std::string& id);
  bool has_member(const std::string& id) const { return members_.count(id) > 0; }
  size_t size() const { return members_.size(); }
  void add(Member member);
  void remove(const std::string& member_id);
  // Static membership: which member id holds a group.instance.id.
  std::optional<std::string> static_member(const std::string& instance_id) const;
  // Kafka's validateMember: a static member's instance id must be known
  // (else UNKNOWN_MEMBER_ID) and held by this member id (else
  // FENCED_INSTANCE_ID); the member id must be in the group.
  protocol::ErrorCode validate_member(const std::string& member_id, const std::optional<std::string>& instance_id) const;
  // Moves a static member to a new member id (a restart with the same
  // group.instance.id); the old id's parked requests are answered
  // FENCED_INSTANCE_ID.
  void replace_static_member(const std::string& instance_id, const std::string& old_id, const std::string& new_id,
                             Deferred& later);

  // Members that got a member id (JoinGroup v4+ MEMBER_ID_REQUIRED) and have
  // not joined with it yet, with their expiry deadline.
  std::map<std::string, int64_t>& pending_members() { return pending_; }

  // --- rebalance bookkeeping ---
  size_t awaiting_join_count() const;
  bool all_members_joined() const { return awaiting_join_count() == members_.size() && pending_.empty(); }
  int32_t max_rebalance_timeout_ms() const;
  // Protocol type and a protocol every member (and the joiner) supports.
  bool supports(const std::string& protocol_type, const std::vector<Protocol>& protocols) const;
  // The protocol most members prefer among those all support (Kafka's vote).
  std::string select_protocol() const;
  // Next generation: selects the protocol, elects a leader if needed, and
  // moves to CompletingRebalance (or Empty when no member is left).
  void init_next_generation(int64_t now_ms);
  // Kafka keeps the leader if it rejoined, else picks a member that did.
  void elect_leader_if_needed();
  std::vector<JoinResult::Member> member_metadata() const;  // for the leader's JoinResult

  // Rebalance deadlines: the join phase ends at join_deadline_ms (or when
  // every member rejoined, unless still in the initial delay); the sync phase
  // ends at sync_deadline_ms.
  int64_t join_deadline_ms = 0;
  int64_t initial_delay_until_ms = 0;      // > 0: a new group still collecting its first members
  int64_t initial_delay_remaining_ms = 0;  // how much longer the delay may be extended
  bool new_member_added = false;           // someone joined during the current delay step
  int64_t sync_deadline_ms = 0;
  // Members that have not sent SyncGroup for the current generation; still
  // there at sync_deadline_ms, they are removed (Kafka's pending sync).
  std::set<std::string> pending_sync;

  // --- offsets ---
  std::map<std::pair<std::string, int32_t>, OffsetAndMetadata>& offsets() { return offsets_; }
  const std::map<std::pair<std::string, int32_t>, OffsetAndMetadata>& offsets() const { return offsets_; }
  // Applies a committed offset (nullopt: its removal) once its write to
  // __consumer_offsets at `log_offset` is replicated, unless a later write of
  // the same partition is already applied: replicated writes can complete
  // out of order, and memory must end as a reload of the log would.
  // A removal also drops the pending transactional offsets of the partition
  // written before it (Kafka's tombstone replay).
  void apply_offset(const std::pair<std::string, int32_t>& key, const std::optional<OffsetAndMetadata>& value,
                    int64_t log_offset);

  // --- transactional offsets (TxnOffsetCommit) ---
  // Offsets a producer's open transaction committed for this group, written
  // at `log_offset` and invisible until the transaction's marker
  // (group_txn_offsets.cc).
  void add_pending_txn_offset(int64_t producer_id, const std::pair<std::string, int32_t>& key,
                              const OffsetAndMetadata& value, int64_t log_offset);
  // The producer's marker at `marker_offset`: COMMIT applies its pending
  // offsets written before the marker (unless a later commit of the same
  // partition is applied: Kafka keeps the most recent record), ABORT drops
  // them. Returns whether the producer still has pending offsets here
  // (written after the marker).
  bool end_txn(int64_t producer_id, bool commit, int64_t marker_offset);
  bool has_pending_txn_offset(const std::pair<std::string, int32_t>& key) const;
  bool has_pending_txn_offsets() const { return !pending_txn_.empty(); }
  // Partitions with a pending transactional offset.
  std::set<std::pair<std::string, int32_t>> pending_txn_partitions() const;
  // Topics the members subscribe to (consumer protocol only; nullopt when
  // the subscriptions cannot be read).
  std::optional<std::set<std::string>> subscribed_topics() const;

  // --- persistence ---
  GroupRecord to_record() const;
  // Loading: the stored generation, protocol and members (state Empty if no
  // member, else Stable as Kafka restores it).
  void load(const GroupRecord& record, int64_t now_ms);
  // A group with no protocol type commits offsets only (simple consumer).
  void set_protocol_type(std::optional<std::string> type) { protocol_type_ = std::move(type); }

 private:
  std::string id_;
  int32_t partition_;
  GroupState state_ = GroupState::kEmpty;
  int64_t state_timestamp_ms_;
  int32_t generation_ = 0;
  std::optional<std::string> protocol_type_;
  std::optional<std::string> protocol_name_;
  std::optional<std::string> leader_;
  std::map<std::string, Member> members_;
  std::map<std::string, std::string> static_members_;  // instance id -> member id
  std::map<std::string, int64_t> pending_;
  std::map<std::pair<std::string, int32_t>, OffsetAndMetadata> offsets_;
  std::map<std::pair<std::string, int32_t>, int64_t> offset_log_offsets_;  // where each applied write is
  struct PendingOffset {
    OffsetAndMetadata value;
    int64_t log_offset = -1;
  };
  // producer id -> partition -> its latest pending offset in that producer's transaction
  std::map<int64_t, std::map<std::pair<std::string, int32_t>, PendingOffset>> pending_txn_;
};

}  // namespace samsa::broker::group
