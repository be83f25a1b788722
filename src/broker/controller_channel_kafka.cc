#include "samsa/broker/kafka_controller_channel.h"

#include <algorithm>

#include "samsa/util/logging.h"

namespace samsa::broker {

namespace {

using Clock = std::chrono::steady_clock;

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.server.NodeToControllerChannelManager");
  return l;
}

}  // namespace

struct KafkaControllerChannel::Request {
  int16_t api_key = 0;
  int16_t api_version = 0;
  std::vector<uint8_t> body;
  Clock::time_point deadline;
  IsNotController is_not_controller;
  OnResponse on_response;
  int attempts = 0;
  bool done = false;  // only touched on the channel's thread
  // The latest attempt (only touched on the channel's thread): its number
  // and the controller it went to.
  uint64_t generation = 0;
  raft::NodeId target = raft::kNoNode;
};

KafkaControllerChannel::KafkaControllerChannel(net::KafkaClient& client, LeaderFn leader, EndpointFn endpoint,
                                               std::chrono::milliseconds retry_backoff)
    : client_(client),
      leader_(std::move(leader)),
      endpoint_(std::move(endpoint)),
      retry_backoff_(retry_backoff),
      executor_("controller-chan") {}

KafkaControllerChannel::~KafkaControllerChannel() { close(); }

void KafkaControllerChannel::close() { closed_.store(true); }

void KafkaControllerChannel::send(int16_t api_key, int16_t api_version, std::vector<uint8_t> body,
                                  std::chrono::milliseconds timeout, IsNotController is_not_controller,
                                  OnResponse on_response) {
  auto request = std::make_shared<Request>();
  request->api_key = api_key;
  request->api_version = api_version;
  request->body = std::move(body);
  request->deadline = Clock::now() + timeout;
  request->is_not_controller = std::move(is_not_controller);
  request->on_response = std::move(on_response);
  executor_.post([this, request] { attempt(request); });
}

void KafkaControllerChannel::finish(const std::shared_ptr<Request>& request,
                                    std::optional<std::vector<uint8_t>> body) {
  if (request->done) return;
  request->done = true;
  request->on_response(std::move(body));
}

void KafkaControllerChannel::attempt(const std::shared_ptr<Request>& request) {
  if (request->done) return;
  if (closed_.load() || Clock::now() >= request->deadline) {
    if (!closed_.load())
      log()->warn("Request with api key {} found no active controller in time ({} attempts)", request->api_key,
                  request->attempts);
    return finish(request, std::nullopt);
  }
  const raft::LeaderAndEpoch leader = leader_();
  std::optional<net::Endpoint> to;
  if (leader.leader_id != raft::kNoNode) to = endpoint_(leader.leader_id);
  if (!to) return retry(request);
  ++request->attempts;
  const uint64_t generation = ++request->generation;
  request->target = leader.leader_id;
  client_.send(*to, request->api_key, request->api_version, request->body,
               [this, request, generation](std::optional<std::vector<uint8_t>> body) {
                 // Back to the channel's thread: the client's must not block.
                 executor_.post([this, request, generation, body = std::move(body)]() mutable {
                   // A real answer counts even from a superseded attempt:
                   // the first one ends the request.
                   if (body && !request->is_not_controller(*body)) return finish(request, std::move(body));
                   if (generation != request->generation) return;  // a newer attempt is out
                   retry(request);
                 });
               });
  watch(request, generation);
}

void KafkaControllerChannel::watch(const std::shared_ptr<Request>& request, uint64_t generation) {
  executor_.post_after(retry_backoff_, [this, request, generation] {
    if (request->done || generation != request->generation || closed_.load()) return;
    // The attempt went to a controller that is no longer the leader (it
    // died: the request may wait out the client's reconnect backoff or
    // request timeout there), or the deadline passed: do not wait for it,
    // try the new leader now. Kafka's channel resends on a disconnect the
    // same way; a request the old controller did commit is answered by the
    // new one as a retry would be (e.g. TOPIC_ALREADY_EXISTS).
    const raft::NodeId now = leader_().leader_id;
    if ((now != raft::kNoNode && now != request->target) || Clock::now() >= request->deadline) {
      log()->debug("Request with api key {} to controller {} goes to the new leader {}", request->api_key,
                   request->target, now);
      return attempt(request);
    }
    watch(request, generation);
  });
}

void KafkaControllerChannel::retry(const std::shared_ptr<Request>& request) {
  if (request->done) return;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(request->deadline - Clock::now());
  if (closed_.load() || left <= std::chrono::milliseconds::zero()) return attempt(request);
  // The watch of the same attempt may move on first (the leader changed):
  // then this retry is stale and must not send the request a second time.
  const uint64_t generation = request->generation;
  executor_.post_after(std::min(retry_backoff_, left), [this, request, generation] {
    if (generation == request->generation) attempt(request);
  });
}

}  // namespace samsa::broker
