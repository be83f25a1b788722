#include "raft_network.h"

#include "samsa/raft/consensus/raft_wire.h"
#include "samsa/util/logging.h"

namespace samsa::raft {

namespace {

const std::shared_ptr<spdlog::logger>& logger() {
  static auto l = samsa::logger("samsa.raft.KafkaNetworkChannel");
  return l;
}

template <typename>
inline constexpr bool kAlwaysFalse = false;

}  // namespace

RaftNetwork::RaftNetwork(NodeId self, std::map<NodeId, net::Endpoint> voters, std::optional<std::string> cluster_id,
                         net::KafkaClientOptions client_options, std::function<void(RaftMessage)> deliver,
                         Failed failed)
    : self_(self),
      voters_(std::move(voters)),
      cluster_id_(std::move(cluster_id)),
      deliver_(std::move(deliver)),
      failed_(std::move(failed)),
      client_(std::make_unique<net::KafkaClient>(std::move(client_options))) {}

RaftNetwork::~RaftNetwork() { close(); }

void RaftNetwork::send(RaftMessage m) {
  std::visit(
      [&](auto& payload) {
        using T = std::decay_t<decltype(payload)>;
        if constexpr (std::is_same_v<T, VoteResponse> || std::is_same_v<T, QuorumEpochResponse> ||
                      std::is_same_v<T, FetchResponse> || std::is_same_v<T, FetchSnapshotResponse>) {
          auto it = waiting_.find(m.correlation_id);
          if (it == waiting_.end()) return;  // expired, or answered already
          auto respond = std::move(it->second.respond);
          waiting_.erase(it);
          respond(RaftPayload(std::move(payload)));
        } else {
          std::optional<net::Endpoint> to;
          {
            std::lock_guard lock(voters_mu_);
            if (auto it = voters_.find(m.to); it != voters_.end()) to = it->second;
          }
          if (!to) {
            logger()->debug("No endpoint for node {}: dropping a request to it", m.to);
            return;
          }
          send_request(m, *to);
        }
      },
      m.payload);
}

void RaftNetwork::send_request(const RaftMessage& m, const net::Endpoint& to) {
  wire::RequestContext ctx{cluster_id_, m.to};
  // Hands a decoded answer to the Raft thread as a message from the peer.
  auto reply = [deliver = deliver_, from = m.to, self = self_, id = m.correlation_id](RaftPayload payload) {
    deliver(RaftMessage{from, self, id, std::move(payload)});
  };
  // No answer will come (refused or reset connection, closing client, a
  // timeout, which the Raft client tells apart by the time it took, or an
  // answer without a usable partition, e.g. the top-level REQUEST_TIMED_OUT
  // of a node that is shutting down its quorum): the
  // Raft client reacts to a dead leader at once instead of after its fetch
  // timeout (raft_client_unreachable.cc).
  auto no_answer = [failed = failed_, to = m.to, id = m.correlation_id] {
    if (failed) failed(to, id);
  };
  std::visit(
      [&](const auto& payload) {
        using T = std::decay_t<decltype(payload)>;
        if constexpr (std::is_same_v<T, VoteRequest>) {
          auto request = wire::to_wire(payload, ctx);
          if (!request) return;
          client_->call<protocol::VoteResponse>(to, wire::kVoteMaxVersion, *request,
                                                [reply, no_answer](std::optional<protocol::VoteResponse> r) {
                                                  if (!r) return no_answer();
                                                  if (auto p = wire::from_wire(*r)) return reply(std::move(*p));
                                                  no_answer();
                                                });
        } else if constexpr (std::is_same_v<T, BeginQuorumEpochRequest>) {
          client_->call<protocol::BeginQuorumEpochResponse>(
              to, wire::kQuorumEpochMaxVersion, wire::to_wire(payload, ctx),
              [reply, no_answer](std::optional<protocol::BeginQuorumEpochResponse> r) {
                if (!r) return no_answer();
                if (auto p = wire::from_wire(*r)) return reply(std::move(*p));
                no_answer();
              });
        } else if constexpr (std::is_same_v<T, EndQuorumEpochRequest>) {
          client_->call<protocol::EndQuorumEpochResponse>(
              to, wire::kQuorumEpochMaxVersion, wire::to_wire(payload, ctx),
              [reply, no_answer](std::optional<protocol::EndQuorumEpochResponse> r) {
                if (!r) return no_answer();
                if (auto p = wire::from_wire(*r)) return reply(std::move(*p));
                no_answer();
              });
        } else if constexpr (std::is_same_v<T, FetchRequest>) {
          client_->call<protocol::FetchResponse>(
              to, wire::kFetchMaxVersion, wire::to_wire(payload, self_, ctx),
              [this, reply, no_answer, fetch_offset = payload.fetch_offset](std::optional<protocol::FetchResponse> r) {
                if (!r) return no_answer();
                for (const auto& e : r->node_endpoints) learn_endpoint(e.node_id, net::Endpoint{e.host, static_cast<uint16_t>(e.port)});
                if (auto p = wire::from_wire(*r, fetch_offset)) return reply(std::move(*p));
                no_answer();
              });
        } else if constexpr (std::is_same_v<T, FetchSnapshotRequest>) {
          client_->call<protocol::FetchSnapshotResponse>(
              to, wire::kFetchSnapshotMaxVersion, wire::to_wire(payload, self_, ctx),
              [reply, no_answer](std::optional<protocol::FetchSnapshotResponse> r) {
                if (!r) return no_answer();
                if (auto p = wire::from_wire(*r)) return reply(std::move(*p));
                no_answer();
              });
        } else if constexpr (std::is_same_v<T, VoteResponse> || std::is_same_v<T, QuorumEpochResponse> ||
                             std::is_same_v<T, FetchResponse> || std::is_same_v<T, FetchSnapshotResponse>) {
          // Responses never get here (send() routes them).
        } else {
          static_assert(kAlwaysFalse<T>, "every request payload is sent");
        }
      },
      m.payload);
}

int64_t RaftNetwork::accept_request(Respond respond, int64_t now_ms) {
  int64_t id = next_inbound_id_++;
  waiting_.emplace(id, Waiting{std::move(respond), now_ms});
  return id;
}

void RaftNetwork::expire(int64_t now_ms, int64_t max_age_ms) {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (now_ms - it->second.since_ms <= max_age_ms) {
      ++it;
      continue;
    }
    auto respond = std::move(it->second.respond);
    it = waiting_.erase(it);
    respond(std::nullopt);
  }
}

void RaftNetwork::close() {
  client_->close();  // kept: later calls fail at once (thread-safe, unlike a reset)
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& [id, w] : waiting) w.respond(std::nullopt);
}

}  // namespace samsa::raft
