#pragma once
// The replication simulation's world (replication_sim.h says what it checks):
// three brokers with real Partition objects and logs, the controller's state,
// the clients and the checker, split by concern over
//   replication_sim.cc  the step loop, faults and clients;
//   sim_controller.cc   the controller: images, fencing, elections, AlterPartition;
//   sim_replica.cc      the brokers: opening logs, images, the fetch loop both sides;
//   sim_checker.cc      the invariants and the state dump.
//
// Threads: single-threaded.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "replication_sim.h"
#include "samsa/broker/metadata_image.h"
#include "samsa/broker/replica/alter_partition_sender.h"
#include "samsa/broker/replica/partition.h"
#include "samsa/log/clock.h"
#include "samsa/log/log.h"
#include "sim_network.h"

namespace samsa::broker::replica::sim {

using protocol::ErrorCode;

constexpr int kNodes = 3;                 // broker ids 1..3; 0 is the controller
constexpr int64_t kStepMs = 5;             // simulated time per step
constexpr int64_t kSessionMs = 400;       // broker.session.timeout.ms
constexpr int64_t kLagMaxMs = 300;        // replica.lag.time.max.ms
constexpr int64_t kProduceTimeoutMs = 1000;
constexpr int64_t kTsBase = 1'690'000'000'000;  // a record's timestamp: kTsBase + its unique id
inline constexpr const char* kTopic = "sim";

struct FetchRequest {
  int32_t replica = -1;
  int64_t broker_epoch = -1;
  int32_t current_leader_epoch = -1;
  int64_t fetch_offset = 0;
  int64_t log_start = 0;
  std::optional<int32_t> last_fetched_epoch;
};

struct FetchResponse {
  ErrorCode error = ErrorCode::NONE;
  std::optional<std::pair<int32_t, int64_t>> diverging;  // (epoch, end offset)
  std::vector<uint8_t> records;
  int64_t high_watermark = -1, log_start = 0, log_end = 0;
};

struct Node {
  int32_t id = -1;
  bool alive = true;
  bool isolated = false;
  bool registered = true;
  int incarnation = 0;       // bumps on restart: answers meant for the old process are dropped
  int64_t broker_epoch = 0;
  bool fetching = false;
  bool fetched = false;      // a fetch answer was applied since the (re)start or the last leader change
  int32_t fetched_epoch = -1;
  int64_t fetch_backoff_until = 0;
  int64_t restart_at = -1, heal_at = -1;
  uint64_t image_version = 0;
  bool image_in_flight = false;
  std::shared_ptr<log::Log> log;
  std::shared_ptr<Partition> part;
};

struct PendingProduce {
  int32_t node;
  int incarnation;
  int64_t offset;
  int64_t record_id;
  int64_t deadline;
};

// Offset -> record id of every record in [log start, end) of a log.
std::map<int64_t, int64_t> read_log(const log::Log& log, int64_t end);

class Sim {
 public:
  explicit Sim(const SimOptions& o);
  ~Sim();
  SimResult run();

 private:
  // --- one simulated step (kStepMs) ---
  void tick(bool faults, bool produce);

  // --- the controller ---
  std::shared_ptr<const MetadataImage> image() const;
  // A new image version; each broker gets the newest, in order, when reachable.
  void publish() { ++version_; }
  void controller_tick();
  void fence(int32_t id);
  void unfence(int32_t id);

  // Kafka's rule with unclean election off: the first replica in
  // assignment order that is in the ISR and not fenced; none: offline.
  void elect();

  // AlterPartition, validated as Kafka's controller does.
  ErrorCode alter_partition(int32_t from, const IsrUpdate& u);
  void on_isr_update(int32_t from, std::shared_ptr<IsrUpdate> u);

  // --- brokers ---
  PartitionHooks hooks(int32_t id);
  void open(Node& n);
  std::function<bool()> reachable(int32_t id);
  void deliver_image(Node& n);
  void maybe_fetch(Node& n);

  // The leader side of a follower Fetch (handlers/fetch.cc's follower path).
  FetchResponse serve_fetch(Node& l, const FetchRequest& req);

  // The replica fetcher's handling of the answer.
  void on_fetch_response(Node& n, const FetchRequest& req, const FetchResponse& r);
  void truncate(Node& n, int64_t offset);
  void restart(Node& n);
  void inject_faults();

  // --- clients ---
  void produce_one();
  void check_pending();
  void acknowledge(const PendingProduce& w);

  // --- invariants ---
  void check_leaders();
  const Node* current_leader() const;
  void check_logs(bool final);
  bool converged() const;

  // --- reporting ---
  std::string isr_text() const;
  std::string state() const;
  template <typename... A>
  void trace(const char* fmt, A... args) {
    if (!o_.trace) return;
    std::fprintf(stderr, "[%lld] ", static_cast<long long>(clock_->now_ms() - kStart));
    std::fprintf(stderr, fmt, args...);
    std::fputc('\n', stderr);
  }
  void fail(const std::string& why);

  static constexpr int64_t kStart = 1'700'000'000'000;
  SimOptions o_;
  std::mt19937_64 rng_;
  std::shared_ptr<log::ManualClock> clock_ = std::make_shared<log::ManualClock>(kStart);
  SimNetwork net_;
  std::string dir_;
  protocol::Uuid topic_id_{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};  // fixed: runs replay
  std::vector<Node> nodes_;
  // The controller's state.
  PartitionImage img_;
  std::map<int32_t, bool> fenced_;
  std::map<int32_t, int64_t> broker_epoch_, last_heartbeat_;
  int64_t next_broker_epoch_ = 10;
  uint64_t version_ = 0;
  // Clients and the checker.
  int64_t next_record_ = 1;
  std::vector<PendingProduce> pending_;
  std::map<int64_t, int64_t> acked_;  // offset -> record id
  std::map<std::pair<int32_t, int32_t>, int64_t> hwm_;  // (leader, epoch) -> last high watermark
  SimResult res_;
};

}  // namespace samsa::broker::replica::sim
