#pragma once
// A single-threaded, event-driven Raft client in the manner of Kafka's
// KafkaRaftClient (KIP-595, pre-vote from KIP-996): Vote, BeginQuorumEpoch,
// EndQuorumEpoch and pull replication by Fetch with diverging-epoch truncation.
//
// Threading: not thread-safe. One thread owns the client and calls poll(),
// handle() and append(); the dependencies are called only from inside those.
//
// Responses are not always sent from inside the handle() of their request:
// the leader holds a Fetch that has nothing new (long-poll, up to its
// max_wait_ms) and answers it later from poll(), append() or handle() of
// another message. The owner must call poll() at least every few ms (or
// when woken) for the wait to end on time.
//
// High watermark: not persisted (as in Kafka). After a restart it is 0 until
// the leader reports one; within a process lifetime it never goes backwards.
#include <map>
#include <string>
#include <vector>

#include "samsa/protocol/error_code.h"
#include "samsa/raft/consensus/quorum_info.h"
#include "samsa/raft/consensus/raft_config.h"
#include "samsa/raft/consensus/raft_io.h"
#include "samsa/raft/consensus/role_states.h"

namespace samsa::raft {

class RaftClient {
 public:
  // Reads quorum-state; a node that was leader restarts resigned, one that
  // voted keeps its vote.
  RaftClient(RaftConfig config, Time& time, Random& random, NetworkChannel& network, ReplicatedLog& log,
             QuorumStateStore& store);

  // Runs timers (elections, check-quorum, fetch), flushes, sends requests.
  void poll();
  // One inbound request or response.
  void handle(const RaftMessage& message);
  // The request `correlation_id` this node sent to `to` failed without an
  // answer: the connection was refused or reset (not a timeout; a request
  // that gets no answer simply expires). A follower whose fetch to the
  // leader fails like this stops vouching for it (grants pre-votes); after
  // kUnreachableAfter in a row it pre-votes soon (raft_client_unreachable.cc).
  void on_request_failed(NodeId to, int64_t correlation_id);
  static constexpr int kUnreachableAfter = 2;

  // Leader only: appends `records` as one entry (one batch, records.size()
  // offsets) in the current epoch and returns its BASE offset (the offset of
  // its first record); nullopt if not leader or `records` is empty. The
  // entry is committed once high_watermark() > base + records.size() - 1.
  std::optional<Offset> append(std::vector<std::string> records);

  // Stores a snapshot of the state below `id.offset` (`content` is opaque:
  // the server passes Kafka .checkpoint bytes) and trims the log below it.
  // REQUIRES id.offset a batch boundary (the end of an entry the owner
  // applied). False, and nothing done, unless id.offset <= high_watermark(),
  // id.epoch is the epoch of the entry ending there, and `id` is newer than
  // the latest snapshot and the log start.
  bool create_snapshot(OffsetAndEpoch id, std::string content);
  // The snapshot this follower fetched from the leader and reset its log to
  // since the last call (then cleared): the owner must replace its state by
  // the snapshot's content (log.read_snapshot(id)) before it applies entries
  // from id.offset on.
  std::optional<OffsetAndEpoch> take_loaded_snapshot();

  // KIP-853 voter changes (raft_client_voters.cc), leader only. Appends a
  // Voters control entry with the new set, which is in force from then on
  // (committed or not, as in Kafka); `offset` is the end of that entry: the
  // change is committed once high_watermark() >= offset. Refused unless
  // kraft_version is 1 (UNSUPPORTED_VERSION), this node leads
  // (NOT_LEADER_OR_FOLLOWER), the leader committed in its epoch and no
  // other change is uncommitted (REQUEST_TIMED_OUT: retry later), the new
  // voter fetched and was caught up with the leader's log within the fetch
  // timeout (REQUEST_TIMED_OUT), the id is not a voter yet
  // (DUPLICATE_VOTER) / is one (VOTER_NOT_FOUND). Removing the leader
  // itself is not supported (INVALID_REQUEST).
  struct VoterChange {
    protocol::ErrorCode error = protocol::ErrorCode::NONE;
    Offset offset = -1;
  };
  VoterChange add_voter(const Voter& voter);
  VoterChange remove_voter(NodeId id);
  // UpdateRaftVoter: replaces the endpoints and kraft.version range of the
  // voter with voter.voter_id AND voter.voter_directory_id (else
  // VOTER_NOT_FOUND). Also refused when `request_epoch` (-1: unknown) is
  // older (FENCED_LEADER_EPOCH) or newer (UNKNOWN_LEADER_EPOCH) than this
  // node's, and with INVALID_REQUEST when there are no endpoints or the
  // range is empty or excludes the kraft.version in force.
  VoterChange update_voter(const Voter& voter, Epoch request_epoch = -1);
  // The voter set in force now (with endpoints), and after the entries
  // below `offset` (what a snapshot at `offset` must record).
  const std::vector<Voter>& voters() const { return voter_history_.latest(); }
  const std::vector<Voter>& voters_at(Offset offset) const { return voter_history_.at(offset); }

  // Leader only (nullopt otherwise): the quorum as DescribeQuorum reports it.
  std::optional<QuorumInfo> quorum_info() const;

  Role role() const;
  Epoch epoch() const { return election_.epoch; }
  NodeId leader_id() const { return election_.leader_id; }
  NodeId voted_id() const { return election_.voted_id; }
  Offset high_watermark() const { return high_watermark_; }
  const RaftConfig& config() const { return config_; }

 private:
  // Transitions (raft_client.cc). Each persists quorum-state before returning.
  void become_unattached(Epoch epoch, NodeId voted_id);
  void become_prospective();
  void become_candidate();
  void become_leader();
  void become_follower(Epoch epoch, NodeId leader);
  void become_resigned();
  void persist(const ElectionState& next);
  int64_t random_election_deadline();
  // A message said (epoch, leader): move to it if it is news.
  void observe_leader(Epoch epoch, NodeId leader);
  struct InFlight {
    enum Kind { kPreVote, kVote, kFetch, kQuorumEpoch, kFetchSnapshot } kind;
    Epoch epoch;
    int64_t sent_ms;
  };
  int64_t send_request(NodeId to, RaftPayload payload, InFlight::Kind kind);
  void respond(const RaftMessage& request, RaftPayload payload);
  // The in-flight request a response answers; nullopt if unknown or expired.
  std::optional<InFlight> take_in_flight(const RaftMessage& response);
  bool is_voter() const { return config_.is_voter(config_.node_id); }
  void advance_high_watermark(Offset hw);

  // Elections (raft_client_vote.cc).
  void poll_election();
  void on_vote_request(const RaftMessage& m, const VoteRequest& r);
  void on_vote_response(const RaftMessage& m, const VoteResponse& r);
  void on_begin_quorum_epoch(const RaftMessage& m, const BeginQuorumEpochRequest& r);
  void on_end_quorum_epoch(const RaftMessage& m, const EndQuorumEpochRequest& r);
  void on_quorum_epoch_response(const RaftMessage& m, const QuorumEpochResponse& r);
  bool candidate_log_ok(Epoch last_epoch, Offset end) const;

  // Fast failover (raft_client_unreachable.cc).
  // A follower still hears from its leader: a recent successful fetch, and
  // no refused fetch since.
  bool follower_vouches(const FollowerState& f) const;
  // How long a voter that found its leader unreachable waits before its
  // pre-vote: 0 for the voter after the leader in the voter list, longer
  // for the next ones, so the survivors do not split the vote.
  int64_t unreachable_election_delay_ms() const;

  // Replication (raft_client_fetch.cc).
  void poll_leader();
  void poll_follower();
  void poll_unattached_observer();
  void on_fetch_request(const RaftMessage& m, const FetchRequest& r);
  void on_fetch_response(const RaftMessage& m, const FetchResponse& r);
  void send_fetch(NodeId to);
  // The answer to a fetch this node cannot serve from its log as it is (not
  // the leader of the fetcher's epoch, or a diverging fetcher); nullopt if
  // it can.
  std::optional<FetchResponse> reject_fetch(const FetchRequest& r) const;
  // Leader: entries from the fetch offset and the high watermark.
  FetchResponse serve_fetch(NodeId from, const FetchRequest& r);
  void advance_leader_high_watermark();
  // Answers the parked fetches that have news (entries, a high watermark the
  // fetcher has not been told), whose wait is over, or that this node can no
  // longer serve (it stopped leading).
  void complete_parked_fetches();

  // Voter sets (raft_client_voters.cc): the history rebuilt from the log at
  // start-up, and kept in step with every append, truncation and snapshot
  // reset; sync_voters() makes the newest set the one in force.
  void load_voter_history();
  void voters_appended(Offset base, const std::vector<Entry>& entries);
  void voters_truncated(Offset offset);
  void voters_reset(OffsetAndEpoch snapshot);
  void sync_voters();
  VoterChange append_voters(std::vector<Voter> next);

  // Snapshots (raft_client_snapshot.cc).
  void send_fetch_snapshot(NodeId to);
  void on_fetch_snapshot_request(const RaftMessage& m, const FetchSnapshotRequest& r);
  void on_fetch_snapshot_response(const RaftMessage& m, const FetchSnapshotResponse& r);

  RaftConfig config_;
  Time& time_;
  Random& random_;
  NetworkChannel& network_;
  ReplicatedLog& log_;
  QuorumStateStore& store_;
  ElectionState election_;
  bool persisted_ = false;  // election_ is what the store holds
  RoleState state_;
  Offset high_watermark_ = 0;
  int64_t next_correlation_ = 1;
  std::map<int64_t, InFlight> in_flight_;
  // Fetch long-poll: fetches the leader holds until something changes.
  struct ParkedFetch {
    RaftMessage request;
    FetchRequest fetch;
    int64_t deadline_ms;
  };
  std::vector<ParkedFetch> parked_fetches_;
  std::optional<OffsetAndEpoch> loaded_snapshot_;
  VoterSetHistory voter_history_;
};

}  // namespace samsa::raft
