#pragma once
// A hand-driven cluster of RaftClients for unit tests: messages go to one
// queue and are delivered explicitly, timeouts are fixed per node.
#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "samsa/raft/consensus/memory_log.h"
#include "samsa/raft/consensus/raft_client.h"
#include "sim/sim_support.h"

namespace samsa::raft {

// Always the same fraction of the bound: each node gets its own fixed
// timeouts, so who times out first is chosen by the test.
class FixedRandom final : public Random {
 public:
  explicit FixedRandom(double fraction) : fraction_(fraction) {}
  int64_t next(int64_t bound) override {
    return bound <= 0 ? 0 : std::min(bound - 1, static_cast<int64_t>(static_cast<double>(bound) * fraction_));
  }

 private:
  double fraction_;
};

// A one-record data entry.
inline Entry rec(Epoch epoch, std::string value) { return Entry{epoch, false, 0, {std::move(value)}}; }

struct Outbox final : NetworkChannel {
  std::deque<RaftMessage>* queue;
  void send(RaftMessage m) override { queue->push_back(std::move(m)); }
};

struct Harness {
  sim::SimTime time;
  std::deque<RaftMessage> wire;
  struct Node {
    MemoryLog log;
    sim::SimQuorumStateStore store;
    Outbox out;
    std::unique_ptr<FixedRandom> random;
    std::unique_ptr<RaftClient> client;
  };
  std::map<NodeId, Node> nodes;
  std::vector<NodeId> voters;
  int16_t kraft_version = 0;  // 1: KIP-853 dynamic voters
  std::function<void(const RaftMessage&)> on_deliver;  // sees every delivered message

  void add(NodeId id, double fraction) {
    Node& n = nodes[id];
    n.out.queue = &wire;
    n.random = std::make_unique<FixedRandom>(fraction);
  }
  void start() {
    for (auto& [id, n] : nodes) {
      RaftConfig c;
      c.node_id = id;
      c.voters = voters;
      c.kraft_version = kraft_version;
      c.election_timeout_ms = 100;
      c.fetch_timeout_ms = 200;
      c.fetch_max_wait_ms = 50;
      n.client = std::make_unique<RaftClient>(c, time, *n.random, n.out, n.log, n.store);
    }
  }
  // Advances time in 1 ms steps, delivering everything at once.
  void run(int64_t ms) {
    for (int64_t i = 0; i < ms; ++i) {
      time.advance(1);
      for (int guard = 0; guard < 1000 && !wire.empty(); ++guard) {
        RaftMessage m = wire.front();
        wire.pop_front();
        if (on_deliver) on_deliver(m);
        nodes.at(m.to).client->handle(m);
      }
      for (auto& [id, n] : nodes) n.client->poll();
    }
  }
};

}  // namespace samsa::raft
