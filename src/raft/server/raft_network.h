#pragma once
// raft::NetworkChannel over net::KafkaClient: requests of the Raft client go
// to the other voters' controller endpoints as Kafka RPCs (raft_wire.h);
// their answers, and the client's answers to inbound requests, are routed
// back here.
//
// Threading: send(), accept_request() and expire() are called on the Raft
// thread only. Responses from the wire arrive on the KafkaClient's thread
// and go to `deliver`, which must hand them to the Raft thread.
#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <string>

#include "samsa/net/kafka_client.h"
#include "samsa/raft/consensus/raft_io.h"
#include "samsa/raft/consensus/voter_set.h"

namespace samsa::raft {

class RaftNetwork final : public NetworkChannel {
 public:
  // The answer to an inbound request: the client's response payload, or
  // nullopt when none will come (shutdown, or the client dropped it).
  using Respond = std::function<void(std::optional<RaftPayload>)>;

  // `failed` (may be empty) hears of a request that got no answer because
  // the connection failed or the answer did not decode, with the request's
  // destination and correlation id (RaftClient::on_request_failed); it runs
  // on the KafkaClient's thread, or on the caller's after close().
  using Failed = std::function<void(NodeId to, int64_t correlation_id)>;

  RaftNetwork(NodeId self, std::map<NodeId, net::Endpoint> voters, std::optional<std::string> cluster_id,
              net::KafkaClientOptions client_options, std::function<void(RaftMessage)> deliver, Failed failed = {});
  ~RaftNetwork() override;

  void send(RaftMessage message) override;

  // Registers the answer path of an inbound request; returns the
  // correlation id the RaftMessage handed to the client must carry.
  int64_t accept_request(Respond respond, int64_t now_ms);
  // Answers nullopt to inbound requests older than `max_age_ms`.
  void expire(int64_t now_ms, int64_t max_age_ms);
  // The client itself, for requests that are not Raft's (thread-safe).
  net::KafkaClient& client() { return *client_; }
  std::map<NodeId, net::Endpoint> voters() const {
    std::lock_guard lock(voters_mu_);
    return voters_;
  }
  // A leader's endpoint from a Fetch response's NodeEndpoints (any thread).
  void learn_endpoint(NodeId id, const net::Endpoint& endpoint) {
    if (id == self_ || id < 0) return;
    std::lock_guard lock(voters_mu_);
    voters_.insert_or_assign(id, endpoint);
  }
  // KIP-853: voters added through the log are reached at the endpoint their
  // Voters record names for `listener` (else their first one). Raft thread.
  void learn_endpoints(const std::vector<Voter>& voters, const std::string& listener);

  // Stops the client (requests in flight fail and are not delivered) and
  // answers every waiting inbound request with nullopt.
  void close();

 private:
  void send_request(const RaftMessage& m, const net::Endpoint& to);

  const NodeId self_;
  mutable std::mutex voters_mu_;  // voters_ also grows from the KafkaClient's thread
  std::map<NodeId, net::Endpoint> voters_;
  const std::optional<std::string> cluster_id_;
  std::function<void(RaftMessage)> deliver_;
  Failed failed_;
  std::unique_ptr<net::KafkaClient> client_;
  struct Waiting {
    Respond respond;
    int64_t since_ms;
  };
  std::map<int64_t, Waiting> waiting_;
  int64_t next_inbound_id_ = 1;
};

}  // namespace samsa::raft
