#include "samsa/raft/server/raft_manager.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <random>

#include "raft_network.h"
#include "samsa/raft/consensus/file_quorum_state_store.h"
#include "samsa/raft/consensus/raft_client.h"
#include "samsa/raft/server/disk_replicated_log.h"
#include "samsa/raft/snapshot_file.h"
#include "samsa/util/logging.h"

namespace samsa::raft {

namespace {

const std::shared_ptr<spdlog::logger>& logger() {
  static auto l = samsa::logger("samsa.raft.RaftManager");
  return l;
}

// The answer path of one inbound request: answered once, and with nullopt
// if the request is dropped unanswered (its task or registration destroyed).
struct PendingAnswer {
  RaftManager::Respond respond;
  explicit PendingAnswer(RaftManager::Respond r) : respond(std::move(r)) {}
  ~PendingAnswer() {
    if (respond) respond(std::nullopt);
  }
  void answer(std::optional<RaftPayload> payload) {
    auto r = std::move(respond);
    respond = nullptr;
    if (r) r(std::move(payload));
  }
};

}  // namespace

struct RaftManager::Clock final : Time {
  int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

struct RaftManager::Rng final : Random {
  std::mt19937_64 gen{std::random_device{}()};
  int64_t next(int64_t bound) override {
    if (bound <= 0) return 0;
    return std::uniform_int_distribution<int64_t>(0, bound - 1)(gen);
  }
};

RaftManager::RaftManager(RaftManagerOptions options)
    : options_(std::move(options)), clock_(std::make_unique<Clock>()), rng_(std::make_unique<Rng>()) {
  DiskLogOptions log_options;
  log_options.metadata_dir = options_.metadata_dir;
  log_options.config = options_.log_config;
  // The metadata log takes any batch append() lets through (Kafka's
  // KafkaMetadataLog sets max.message.bytes to the Raft batch limit too):
  // a large CreateTopics is one batch, not a failed metadata dir.
  log_options.config.max_message_bytes =
      std::max<int32_t>(log_options.config.max_message_bytes, static_cast<int32_t>(options_.max_batch_bytes + 1024));
  log_options.on_io_error = options_.on_io_error;
  log_ = std::make_unique<DiskReplicatedLog>(log_options);
  store_ = std::make_unique<FileQuorumStateStore>(log_->dir(), options_.raft.voters);

  net::KafkaClientOptions client_options;
  client_options.client_id = "raft-client-" + std::to_string(options_.raft.node_id);
  client_options.request_timeout_ms = options_.raft.request_timeout_ms;
  client_options.connect_timeout_ms = options_.raft.request_timeout_ms;
  client_options.reconnect_backoff_ms = std::max<int64_t>(1, options_.raft.retry_backoff_ms);
  client_options.reconnect_backoff_max_ms = std::max<int64_t>(client_options.reconnect_backoff_ms, 1000);
  std::map<NodeId, net::Endpoint> peers;
  for (const auto& [id, endpoint] : options_.voter_endpoints)
    if (id != options_.raft.node_id) peers.emplace(id, endpoint);
  network_ = std::make_unique<RaftNetwork>(
      options_.raft.node_id, std::move(peers), options_.cluster_id, client_options,
      [this](RaftMessage m) { post([this, m = std::move(m)] { client_->handle(m); }); },
      [this](NodeId to, int64_t id) { post([this, to, id] { client_->on_request_failed(to, id); }); });
  RaftConfig config = options_.raft;
  // KIP-853: a snapshot's VotersRecord is the voter set at its offset.
  if (config.kraft_version >= 1) {
    config.snapshot_voters = [](const std::string& content) {
      return snapshot_voters(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(content.data()), content.size()));
    };
  }
  client_ = std::make_unique<RaftClient>(config, *clock_, *rng_, *network_, *log_, *store_);
}

RaftManager::~RaftManager() { stop(); }

void RaftManager::register_listener(MetadataListener* listener) { listener_ = listener; }

void RaftManager::start() {
  {
    std::lock_guard lock(inbox_mu_);
    if (started_) return;
    started_ = true;
  }
  after_poll();  // what quorum-state says, before the first poll
  raft_thread_ = std::thread([this] { raft_loop(); });
  listener_thread_ = std::thread([this] { listener_loop(); });
  logger()->info("Started the Raft quorum of node {} (voters {})", options_.raft.node_id,
                 fmt::join(options_.raft.voters, ","));
}

void RaftManager::stop() {
  {
    std::lock_guard lock(inbox_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  inbox_cv_.notify_all();
  {
    std::lock_guard lock(state_mu_);
  }
  state_cv_.notify_all();
  if (raft_thread_.joinable()) raft_thread_.join();
  fail_voter_changes();
  network_->close();
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(inbox_mu_);
    dropped.swap(inbox_);
  }
  dropped.clear();  // waiting callers see a broken promise, requests get nullopt
  if (listener_thread_.joinable()) listener_thread_.join();
  log_->close();
}

void RaftManager::post(std::function<void()> task) {
  std::unique_lock lock(inbox_mu_);
  if (stopping_ || failed_) return;  // `task` is dropped: see PendingAnswer
  inbox_.push_back(std::move(task));
  lock.unlock();
  inbox_cv_.notify_one();
}

bool RaftManager::run_on_raft_thread(const std::function<void()>& task) {
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  post([task, done] {
    task();
    done->set_value();
  });
  done.reset();
  try {
    future.get();
    return true;
  } catch (const std::future_error&) {
    return false;  // stopped before it ran
  }
}

void RaftManager::raft_loop() {
  while (true) {
    std::deque<std::function<void()>> tasks;
    {
      std::unique_lock lock(inbox_mu_);
      inbox_cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_interval_ms),
                         [this] { return stopping_ || !inbox_.empty(); });
      if (stopping_) return;
      tasks.swap(inbox_);
    }
    try {
      for (auto& task : tasks) task();
      tasks.clear();
      client_->poll();
      network_->expire(clock_->now_ms(), options_.raft.request_timeout_ms * 2);
      after_poll();
    } catch (const std::exception& e) {
      fail(e.what());
      return;
    }
  }
}

void RaftManager::after_poll() {
  Status s;
  s.role = client_->role();
  LeaderAndEpoch now{client_->leader_id(), client_->epoch()};
  // Only a leader names itself: a node that restarts resigned still holds
  // its old leadership in quorum-state, and must not look active.
  if (now.leader_id == options_.raft.node_id && s.role != Role::kLeader) now.leader_id = kNoNode;
  s.leader = now;
  s.high_watermark = client_->high_watermark();
  s.log_end_offset = log_->end_offset();
  bool changed;
  {
    std::lock_guard lock(state_mu_);
    changed = now != leader_ || s.high_watermark != high_watermark_;
    if (now != leader_ && s.role == Role::kLeader) {
      // Everything below this epoch's first entry (its LeaderChange).
      leader_epoch_start_ = log_->end_offset_for_epoch(now.epoch - 1).offset;
    }
    leader_ = now;
    high_watermark_ = s.high_watermark;
    status_ = s;
    if (auto loaded = client_->take_loaded_snapshot()) {
      loaded_snapshot_ = *loaded;
      changed = true;
    }
  }
  if (changed) state_cv_.notify_all();
  poll_voter_changes();
}

void RaftManager::fail(const std::string& why) {
  logger()->error("The Raft quorum of node {} stops: {}", options_.raft.node_id, why);
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(inbox_mu_);
    failed_ = true;
    dropped.swap(inbox_);
  }
  dropped.clear();
  {
    std::lock_guard lock(state_mu_);
    leader_ = LeaderAndEpoch{kNoNode, leader_.epoch};
    status_.leader = leader_;
  }
  state_cv_.notify_all();
  if (options_.on_io_error) options_.on_io_error(why);
}

LeaderAndEpoch RaftManager::leader() const {
  std::lock_guard lock(state_mu_);
  return leader_;
}

Offset RaftManager::high_watermark() const {
  std::lock_guard lock(state_mu_);
  return high_watermark_;
}

RaftManager::Status RaftManager::status() const {
  std::lock_guard lock(state_mu_);
  return status_;
}

std::variant<Offset, AppendError> RaftManager::append(Epoch epoch, std::vector<std::string> records) {
  // The batch as written: a 61-byte header, and per record its value plus at
  // most 24 bytes of length, attributes, deltas and key/header counts.
  size_t bytes = 61;
  for (const auto& r : records) bytes += r.size() + 24;
  if (records.empty() || bytes > options_.max_batch_bytes) return AppendError::kTooLarge;
  std::variant<Offset, AppendError> result = AppendError::kNotLeader;
  bool ran = run_on_raft_thread([&] {
    if (client_->role() != Role::kLeader || client_->epoch() != epoch) return;
    const auto n = static_cast<Offset>(records.size());
    try {
      auto base = client_->append(std::move(records));
      if (base) result = *base + n - 1;
    } catch (const std::exception& e) {
      result = AppendError::kIoError;
      throw;  // the Raft thread fails the node
    }
  });
  if (!ran) return AppendError::kNotLeader;
  return result;
}

void RaftManager::create_snapshot(OffsetAndEpoch id, std::vector<std::string> records) {
  std::vector<std::vector<uint8_t>> values;
  values.reserve(records.size());
  for (const auto& r : records) values.emplace_back(r.begin(), r.end());
  records.clear();
  std::optional<std::vector<Voter>> voters;
  if (options_.raft.kraft_version >= 1) run_on_raft_thread([&] { voters = client_->voters_at(id.offset); });
  auto bytes = encode_snapshot(values, id.epoch, 1000, voters);
  values.clear();
  run_on_raft_thread([&] {
    // The client checks the id (committed, the epoch of the entry ending
    // there, newer than the latest) and trims the log below it.
    if (client_->create_snapshot(id, std::string(bytes.begin(), bytes.end()))) {
      logger()->info("Stored snapshot {}", log_->snapshot_path(id));
    } else {
      logger()->warn("Did not store a snapshot at offset {} epoch {} (high watermark {}, latest snapshot at {})",
                     id.offset, id.epoch, client_->high_watermark(),
                     log_->latest_snapshot() ? log_->latest_snapshot()->offset : -1);
    }
  });
}

std::optional<RaftManager::QuorumDescription> RaftManager::describe_quorum() {
  QuorumDescription d;
  bool ran = run_on_raft_thread([&] {
    d.info = client_->quorum_info();
    d.leader = LeaderAndEpoch{client_->leader_id(), client_->epoch()};
  });
  if (!ran) return std::nullopt;
  if (d.info) {
    // The client's clock is a steady one; DescribeQuorum reports wall time.
    const int64_t shift = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count() -
                          clock_->now_ms();
    for (auto* replicas : {&d.info->current_voters, &d.info->observers}) {
      for (auto& r : *replicas) {
        if (r.last_fetch_timestamp >= 0) r.last_fetch_timestamp += shift;
        if (r.last_caught_up_timestamp >= 0) r.last_caught_up_timestamp += shift;
      }
    }
  }
  return d;
}

net::KafkaClient& RaftManager::kafka_client() { return network_->client(); }

std::optional<net::Endpoint> RaftManager::leader_endpoint() const {
  auto l = leader();
  if (l.leader_id == kNoNode) return std::nullopt;
  auto endpoints = voter_endpoints();
  if (auto it = endpoints.find(l.leader_id); it != endpoints.end()) return it->second;
  // An observer that is not in the voter set it knows (a node about to be
  // added, KIP-853) reaches the leader where its Fetch answers named it.
  endpoints = network_->voters();
  if (auto it = endpoints.find(l.leader_id); it != endpoints.end()) return it->second;
  return std::nullopt;
}

void RaftManager::handle_request(NodeId from, RaftPayload request, Respond respond) {
  auto pending = std::make_shared<PendingAnswer>(std::move(respond));
  post([this, from, pending, request = std::move(request)]() mutable {
    int64_t id = network_->accept_request([pending](std::optional<RaftPayload> p) { pending->answer(std::move(p)); },
                                          clock_->now_ms());
    client_->handle(RaftMessage{from, options_.raft.node_id, id, std::move(request)});
  });
}

}  // namespace samsa::raft
