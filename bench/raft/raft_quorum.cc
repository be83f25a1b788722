// samsa-bench-raft-quorum: the __cluster_metadata quorum itself, N
// RaftManagers in one process on loopback sockets (real disk logs, real
// Kafka RPCs, real timers):
//   - commit latency: append on the leader -> the leader's listener has the
//     batch (committed by a majority and delivered), one batch at a time;
//   - failover: the leader stops dead (its sockets close, as with kill -9)
//     -> a new leader's first append is committed; the stopped node then
//     restarts and catches up before the next trial.
// Timeouts default to Kafka's (controller.quorum.*).
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>

#include "latency_histogram.h"
#include "samsa/net/io_context_pool.h"
#include "samsa/net/tcp_server.h"
#include "samsa/raft/server/raft_frame_handler.h"
#include "samsa/raft/server/raft_manager.h"
#include "samsa/util/logging.h"

namespace {

namespace fs = std::filesystem;
using namespace samsa;
using Clock = std::chrono::steady_clock;

struct Options {
  int voters = 3;
  int commits = 500;
  int failovers = 20;
  int record_bytes = 100;
  int64_t election_timeout_ms = 1000;
  int64_t election_backoff_max_ms = 1000;
  int64_t fetch_timeout_ms = 2000;
  int64_t request_timeout_ms = 2000;
  double timeout_s = 600;
  std::string dir;
  bool json = false;
};

// When each committed offset reached the listener.
class CommitListener final : public raft::MetadataListener {
 public:
  void handle_load_snapshot(raft::OffsetAndEpoch, const std::vector<std::string>&) override {}
  void handle_commit(const raft::CommittedBatch& batch) override {
    std::lock_guard lock(mu_);
    delivered_ = batch.last_offset + 1;
    cv_.notify_all();
  }
  void handle_leader_change(raft::LeaderAndEpoch) override {}
  // Waits until `offset` was delivered; false at the deadline.
  bool wait_delivered(raft::Offset offset, Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return delivered_ > offset; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  raft::Offset delivered_ = 0;
};

struct Node {
  raft::NodeId id = 0;
  fs::path dir;
  raft::RaftFrameHandler handler;
  std::unique_ptr<net::TcpServer> server;
  uint16_t port = 0;
  std::unique_ptr<CommitListener> listener;
  std::unique_ptr<raft::RaftManager> raft;
};

class Quorum {
 public:
  Quorum(const Options& o, net::IoContextPool& pool) : o_(o) {
    for (int i = 1; i <= o.voters; ++i) {
      auto n = std::make_unique<Node>();
      n->id = i;
      n->dir = fs::path(o.dir) / ("node-" + std::to_string(i));
      fs::create_directories(n->dir);
      n->server = std::make_unique<net::TcpServer>(pool, net::ConnectionOptions{});
      n->port = n->server->listen(net::ListenerConfig{"CONTROLLER", "127.0.0.1", 0, &n->handler});
      n->server->start_accepting();
      nodes_.push_back(std::move(n));
    }
  }
  ~Quorum() {
    for (auto& n : nodes_) stop(*n);
    for (auto& n : nodes_) {
      n->server->stop_accepting();
      n->server->drain(std::chrono::milliseconds(500));
    }
  }
  void start(Node& n) {
    raft::RaftManagerOptions m;
    m.raft.node_id = n.id;
    for (const auto& other : nodes_) {
      m.raft.voters.push_back(other->id);
      m.voter_endpoints[other->id] = net::Endpoint{"127.0.0.1", other->port};
    }
    m.raft.election_timeout_ms = o_.election_timeout_ms;
    m.raft.election_backoff_max_ms = o_.election_backoff_max_ms;
    m.raft.fetch_timeout_ms = o_.fetch_timeout_ms;
    m.raft.request_timeout_ms = o_.request_timeout_ms;
    m.raft.fetch_max_wait_ms = std::min<int64_t>({500, o_.request_timeout_ms / 2, o_.fetch_timeout_ms / 2});
    m.cluster_id = "bench";
    m.metadata_dir = n.dir.string();
    m.on_io_error = [](const std::string& why) {
      std::fprintf(stderr, "error: metadata log I/O: %s\n", why.c_str());
      std::_Exit(1);
    };
    n.listener = std::make_unique<CommitListener>();
    n.raft = std::make_unique<raft::RaftManager>(m);
    n.raft->register_listener(n.listener.get());
    n.handler.set(n.raft.get());
    n.raft->start();
  }
  void stop(Node& n) {
    if (!n.raft) return;
    n.handler.set(nullptr);
    n.raft->stop();
    n.raft.reset();
  }
  // The running node that leads (and knows it), or null at the deadline.
  Node* leader(Clock::time_point deadline) {
    while (Clock::now() < deadline) {
      for (auto& n : nodes_)
        if (n->raft && n->raft->status().role == raft::Role::kLeader) return n.get();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return nullptr;
  }
  // Appends one batch on the leader and waits until the leader delivered it.
  // False if no append commits before the deadline.
  bool commit_one(const std::string& record, Clock::time_point deadline) {
    while (Clock::now() < deadline) {
      Node* l = leader(deadline);
      if (!l) return false;
      auto r = l->raft->append(l->raft->leader().epoch, {record});
      if (auto* offset = std::get_if<raft::Offset>(&r)) {
        if (l->listener->wait_delivered(*offset, std::min(deadline, Clock::now() + std::chrono::seconds(10))))
          return true;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    return false;
  }
  std::vector<std::unique_ptr<Node>>& nodes() { return nodes_; }

 private:
  const Options& o_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

double ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Commit latency and failover time of the __cluster_metadata Raft quorum (in one process)"};
  app.add_option("--voters", o.voters, "voters (3 or 5)")->check(CLI::Range(1, 7));
  app.add_option("--commits", o.commits, "batches committed one at a time for the latency figures");
  app.add_option("--failovers", o.failovers, "leader failures measured");
  app.add_option("--record-bytes", o.record_bytes, "bytes per record");
  app.add_option("--election-timeout-ms", o.election_timeout_ms, "controller.quorum.election.timeout.ms");
  app.add_option("--election-backoff-max-ms", o.election_backoff_max_ms, "controller.quorum.election.backoff.max.ms");
  app.add_option("--fetch-timeout-ms", o.fetch_timeout_ms, "controller.quorum.fetch.timeout.ms");
  app.add_option("--request-timeout-ms", o.request_timeout_ms, "controller.quorum.request.timeout.ms");
  app.add_option("--timeout-s", o.timeout_s, "hard limit for the whole run");
  app.add_option("--dir", o.dir, "where the metadata logs go (default: a fresh temp dir, removed after)");
  app.add_flag("--json", o.json, "one JSON object on stdout");
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "the nodes' log level");
  CLI11_PARSE(app, argc, argv);
  samsa::set_log_level(log_level);

  const bool own_dir = o.dir.empty();
  if (own_dir) o.dir = (fs::temp_directory_path() / ("samsa-bench-raft-" + std::to_string(::getpid()))).string();
  fs::remove_all(o.dir);
  const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000));
  int rc = 0;
  bench::LatencyHistogram commit_ns, failover_ns;
  {
    net::IoContextPool pool(2);
    pool.start();
    {
      Quorum q(o, pool);
      for (auto& n : q.nodes()) q.start(*n);
      const std::string record(static_cast<size_t>(o.record_bytes), 'm');
      if (!q.commit_one(record, deadline)) rc = 1;  // the first leader's first commit
      for (int i = 0; rc == 0 && i < o.commits; ++i) {
        auto t0 = Clock::now();
        if (!q.commit_one(record, deadline)) rc = 1;
        commit_ns.record(static_cast<uint64_t>((Clock::now() - t0).count()));
      }
      for (int i = 0; rc == 0 && i < o.failovers; ++i) {
        Node* old = q.leader(deadline);
        if (!old) {
          rc = 1;
          break;
        }
        auto t0 = Clock::now();
        q.stop(*old);
        if (!q.commit_one(record, deadline)) rc = 1;
        failover_ns.record(static_cast<uint64_t>((Clock::now() - t0).count()));
        // Back to full strength: the old leader restarts and catches up.
        q.start(*old);
        if (!q.commit_one(record, deadline)) rc = 1;
        Node* l = q.leader(deadline);
        if (!l || !old->listener->wait_delivered(l->raft->high_watermark() - 1, deadline)) rc = 1;
      }
    }
    pool.stop();
  }
  if (own_dir) fs::remove_all(o.dir);
  if (rc != 0) std::fprintf(stderr, "error: the quorum stopped committing before the time limit\n");

  auto line = [&](const char* what, const bench::LatencyHistogram& h) {
    if (o.json)
      return std::printf("\"%s\":{\"count\":%llu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}", what,
                         static_cast<unsigned long long>(h.count()), ms(h.percentile(50)), ms(h.percentile(99)),
                         ms(h.max()));
    return std::printf("%-16s n=%-5llu p50 %9.3f ms  p99 %9.3f ms  max %9.3f ms\n", what,
                       static_cast<unsigned long long>(h.count()), ms(h.percentile(50)), ms(h.percentile(99)),
                       ms(h.max()));
  };
  if (o.json) std::printf("{\"voters\":%d,\"election_timeout_ms\":%lld,\"fetch_timeout_ms\":%lld,", o.voters,
                          static_cast<long long>(o.election_timeout_ms), static_cast<long long>(o.fetch_timeout_ms));
  line("commit", commit_ns);
  if (o.json) std::printf(",");
  line("failover", failover_ns);
  if (o.json) std::printf(",\"ok\":%s}\n", rc == 0 ? "true" : "false");
  return rc;
}
