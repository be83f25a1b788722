#pragma once
// ControllerChannel over net::KafkaClient, Kafka's
// NodeToControllerChannelManager: each request goes to the active
// controller as the node's MetadataRaft currently knows it (`leader`),
// at the endpoint `endpoint` gives for that id (controller.quorum.voters,
// else the controllers of the metadata image). No leader, no endpoint, a
// failed connection or a NOT_CONTROLLER answer: retried after
// `retry_backoff` against the newest leader, until the request's deadline.
// An attempt still unanswered when the leader changes is not waited for
// (the old controller may be dead and its connection in reconnect backoff):
// the request goes to the new leader at once, and the first real answer of
// either attempt ends it.
//
// Threading: send() and close() are thread-safe. Attempts and callbacks run
// on the channel's own thread (never a network or KafkaClient thread), one
// at a time; callbacks must not block. Destroy the KafkaClient after close()
// and before the channel, or keep it alive longer than the channel.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "samsa/broker/controller_channel.h"
#include "samsa/net/kafka_client.h"
#include "samsa/raft/metadata_raft.h"
#include "samsa/util/serial_executor.h"

namespace samsa::broker {

class KafkaControllerChannel final : public ControllerChannel {
 public:
  using LeaderFn = std::function<raft::LeaderAndEpoch()>;
  using EndpointFn = std::function<std::optional<net::Endpoint>(raft::NodeId)>;

  KafkaControllerChannel(net::KafkaClient& client, LeaderFn leader, EndpointFn endpoint,
                         std::chrono::milliseconds retry_backoff = std::chrono::milliseconds(50));
  ~KafkaControllerChannel() override;

  void send(int16_t api_key, int16_t api_version, std::vector<uint8_t> body, std::chrono::milliseconds timeout,
            IsNotController is_not_controller, OnResponse on_response) override;
  // Answers every request still waiting with nullopt; later sends too.
  void close();

 private:
  struct Request;
  void attempt(const std::shared_ptr<Request>& request);
  void retry(const std::shared_ptr<Request>& request);
  // Every retry_backoff while attempt `generation` is out: re-attempts when
  // the leader moved away from its target or the deadline passed.
  void watch(const std::shared_ptr<Request>& request, uint64_t generation);
  static void finish(const std::shared_ptr<Request>& request, std::optional<std::vector<uint8_t>> body);

  net::KafkaClient& client_;
  const LeaderFn leader_;
  const EndpointFn endpoint_;
  const std::chrono::milliseconds retry_backoff_;
  std::atomic<bool> closed_{false};
  util::SerialExecutor executor_;  // last: its thread stops before the members it uses go
};

}  // namespace samsa::broker
