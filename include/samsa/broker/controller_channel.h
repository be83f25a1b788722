#pragma once
// How the broker role reaches the active controller (Kafka's
// NodeToControllerChannelManager): it follows the Raft leader that the
// node's MetadataRaft reports, maps it to the controller's endpoint
// (controller.quorum.voters, else the controllers registered in the
// metadata image), and sends the request there. A request that finds no
// controller, loses its connection or is answered NOT_CONTROLLER is retried
// against the newest known leader until its deadline; then it fails.
//
// Threading: thread-safe; callbacks run on the KafkaClient I/O thread and
// must not block.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace samsa::broker {

class ControllerChannel {
 public:
  // The response body, or nullopt when the deadline passed without an answer.
  using OnResponse = std::function<void(std::optional<std::vector<uint8_t>> body)>;
  // Tells whether an answer says "not the controller" (so it is retried
  // elsewhere); decoded per API by the caller.
  using IsNotController = std::function<bool(const std::vector<uint8_t>& body)>;

  virtual ~ControllerChannel() = default;
  virtual void send(int16_t api_key, int16_t api_version, std::vector<uint8_t> body,
                    std::chrono::milliseconds timeout, IsNotController is_not_controller, OnResponse on_response) = 0;
};

}  // namespace samsa::broker

namespace samsa::protocol {
struct CreateTopicsRequest;
}

namespace samsa::broker {

// Asks the active controller to create topics (CreateTopics v7, as Kafka's
// AutoTopicCreationManager does), retried while it answers NOT_CONTROLLER.
// `done(answered)` runs on the channel's thread: false when no answer came
// before the request's timeout_ms.
void send_create_topics(ControllerChannel& channel, const protocol::CreateTopicsRequest& request,
                        std::function<void(bool answered)> done);

}  // namespace samsa::broker
