#pragma once
// The Raft quorum of `__cluster_metadata` in a server process: implements
// MetadataRaft (metadata_raft.h) over the consensus core (RaftClient) with
// real time, the disk log (DiskReplicatedLog), the `quorum-state` file and
// the network (net::KafkaClient to the voters' controller endpoints).
// Kafka's KafkaRaftManager is the model.
//
// Threads:
//   - the Raft thread owns the RaftClient: it polls it, hands it inbound
//     requests and responses, and runs append/create_snapshot for callers;
//   - the listener thread delivers the snapshot and then the committed
//     batches, in order, to the registered MetadataListener (see
//     metadata_raft.h for the leader-change ordering rule);
//   - the KafkaClient's I/O thread decodes responses and posts them to the
//     Raft thread.
// Public methods are thread-safe. append() and create_snapshot() block the
// caller until the Raft thread has done them.
//
// Lifecycle: construct (opens the log, throws std::runtime_error on
// failure), register_listener(), start(), ..., stop() (idempotent; the
// destructor calls it).
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "samsa/log/log_config.h"
#include "samsa/net/kafka_client.h"
#include "samsa/raft/consensus/quorum_info.h"
#include "samsa/protocol/error_code.h"
#include "samsa/raft/consensus/raft_client.h"
#include "samsa/raft/consensus/raft_config.h"
#include "samsa/raft/consensus/raft_messages.h"
#include "samsa/raft/metadata_raft.h"

namespace samsa::raft {

class DiskReplicatedLog;
class RaftClient;
class RaftNetwork;
class FileQuorumStateStore;

struct RaftManagerOptions {
  RaftConfig raft;  // node_id, voters (ids) and the controller.quorum.* timeouts
  // Where each voter's controller listener is (controller.quorum.voters).
  std::map<NodeId, net::Endpoint> voter_endpoints;
  std::optional<std::string> cluster_id;  // sent as ClusterId in Raft requests
  std::string metadata_dir;               // metadata.log.dir
  log::LogConfig log_config;              // metadata.log.segment.bytes / .ms
  // A write or fsync of the metadata log failed: the node cannot go on
  // (Kafka halts). Called once, from the Raft thread.
  std::function<void(const std::string&)> on_io_error;
  // The controller listener's name, for DescribeQuorum v2's node endpoints.
  std::string controller_listener_name = "CONTROLLER";
  // kraft.version 1: this node as a voter record should name it (its
  // directory id, its controller listener endpoints, its kraft.version
  // range). While it is a voter whose record in the voter set in force
  // differs, it sends UpdateRaftVoter to the leader (KIP-853), retrying
  // with backoff until the set names it so. Unset: never.
  std::optional<Voter> self_voter;
  // How often the Raft thread polls the client when nothing arrives.
  int64_t poll_interval_ms = 5;
  size_t max_batch_bytes = 8u << 20;  // a larger append fails with kTooLarge (Kafka: 8 MiB)
};

class RaftManager final : public MetadataRaft {
 public:
  // The answer to an inbound Raft request (see handle_request).
  using Respond = std::function<void(std::optional<RaftPayload>)>;

  explicit RaftManager(RaftManagerOptions options);
  ~RaftManager() override;
  RaftManager(const RaftManager&) = delete;
  RaftManager& operator=(const RaftManager&) = delete;

  void register_listener(MetadataListener* listener) override;
  void start();
  // Stops both threads; inbound requests still waiting are answered
  // nullopt; appends in progress fail with kNotLeader.
  void stop();

  NodeId node_id() const override { return options_.raft.node_id; }
  const std::optional<std::string>& cluster_id() const { return options_.cluster_id; }
  LeaderAndEpoch leader() const override;
  Offset high_watermark() const override;
  std::variant<Offset, AppendError> append(Epoch epoch, std::vector<std::string> records) override;
  void create_snapshot(OffsetAndEpoch id, std::vector<std::string> records) override;

  // An inbound Vote, BeginQuorumEpoch, EndQuorumEpoch or Fetch request from
  // node `from`. `respond` runs exactly once, on the Raft thread (or on the
  // caller's when the manager is not running), with the client's answer or
  // nullopt if there is none (stopped, or the request was dropped).
  void handle_request(NodeId from, RaftPayload request, Respond respond);

  // What DescribeQuorum reports, read on the Raft thread: the leader's view
  // of the quorum (nullopt unless this node leads; timestamps in wall-clock
  // ms) and the leader as this node knows it. nullopt once stopped.
  struct QuorumDescription {
    std::optional<QuorumInfo> info;
    LeaderAndEpoch leader;
  };
  std::optional<QuorumDescription> describe_quorum();
  // The client this node talks to the voters with (thread-safe), and where
  // the known leader's controller listener is: for requests a broker
  // forwards to the active controller (DescribeQuorum).
  net::KafkaClient& kafka_client();
  std::optional<net::Endpoint> leader_endpoint() const;
  // The voters' controller endpoints: the configured ones, and with
  // kraft.version 1 those of the voter set in force (its Voters record),
  // removed voters left out. Thread-safe (raft_voters.cc).
  std::map<NodeId, net::Endpoint> voter_endpoints() const;
  const std::string& controller_listener_name() const { return options_.controller_listener_name; }

  // KIP-853 (raft_voters.cc): adds `voter` to / removes voter `id` from the
  // voter set as leader, and calls `done` once the change is committed
  // (NONE), or with the error: RaftClient::add_voter's, NOT_LEADER_OR_FOLLOWER
  // if the leadership is lost first, REQUEST_TIMED_OUT after `timeout_ms`
  // or at stop(). `done` runs on the Raft thread (or the caller's).
  using VoterChangeDone = std::function<void(protocol::ErrorCode)>;
  void add_voter(Voter voter, int64_t timeout_ms, VoterChangeDone done);
  void remove_voter(NodeId id, int64_t timeout_ms, VoterChangeDone done);
  // UpdateRaftVoter: RaftClient::update_voter; `done` once the record is
  // appended (NONE) or refused, on the Raft thread.
  void update_voter(Voter voter, Epoch request_epoch, VoterChangeDone done);

  // Role and offsets, as last published by the Raft thread.
  struct Status {
    Role role = Role::kUnattached;
    LeaderAndEpoch leader;
    Offset high_watermark = 0;
    Offset log_end_offset = 0;
  };
  Status status() const;

 private:
  void post(std::function<void()> task);
  // Runs `task` on the Raft thread and waits for it; false if the manager
  // stopped first.
  bool run_on_raft_thread(const std::function<void()>& task);
  void raft_loop();
  void after_poll();
  void listener_loop();
  void fail(const std::string& why);
  // raft_voters.cc, on the Raft thread: starts a change; completes the
  // changes in flight; learns the endpoints of a changed voter set.
  void start_voter_change(const std::function<RaftClient::VoterChange(RaftClient&)>& op, int64_t timeout_ms,
                          VoterChangeDone done);
  void poll_voter_changes();
  void fail_voter_changes();
  // Sends UpdateRaftVoter when options_.self_voter and the set disagree.
  void maybe_update_self(int64_t now_ms);

  const RaftManagerOptions options_;
  std::unique_ptr<DiskReplicatedLog> log_;
  std::unique_ptr<FileQuorumStateStore> store_;
  std::unique_ptr<RaftNetwork> network_;
  std::unique_ptr<RaftClient> client_;
  struct Clock;
  struct Rng;
  std::unique_ptr<Clock> clock_;
  std::unique_ptr<Rng> rng_;
  MetadataListener* listener_ = nullptr;

  // The Raft thread's inbox.
  std::mutex inbox_mu_;
  std::condition_variable inbox_cv_;
  std::deque<std::function<void()>> inbox_;
  bool stopping_ = false;
  bool started_ = false;
  std::thread raft_thread_;

  // Published by the Raft thread for other threads.
  mutable std::mutex state_mu_;
  std::condition_variable state_cv_;  // the listener thread waits on it
  LeaderAndEpoch leader_;
  Offset high_watermark_ = 0;
  Status status_;
  // On this node as leader: the first offset of its epoch; the listener
  // announces the leadership once it delivered everything below it.
  Offset leader_epoch_start_ = 0;
  // A snapshot the client fetched and reset the log to: the listener loads
  // it before it delivers anything from its offset on.
  std::optional<OffsetAndEpoch> loaded_snapshot_;
  bool failed_ = false;
  std::thread listener_thread_;

  // Raft thread only: voter changes waiting for their commit.
  struct PendingVoterChange {
    Offset offset;
    Epoch epoch;
    int64_t deadline_ms;
    VoterChangeDone done;
  };
  std::vector<PendingVoterChange> pending_voter_changes_;
  std::vector<Voter> known_voters_;
  bool self_update_in_flight_ = false;
  int64_t next_self_update_ms_ = 0;
  int64_t self_update_backoff_ms_ = 0;
  mutable std::mutex endpoints_mu_;
  std::optional<std::map<NodeId, net::Endpoint>> dynamic_endpoints_;  // kraft.version 1: the set in force
};

}  // namespace samsa::raft
