#include "samsa/broker/producer_id_manager.h"

#include <future>

#include "samsa/broker/controller_channel.h"
#include "samsa/broker/controller_service.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/allocate_producer_ids_request.h"
#include "samsa/protocol/gen/allocate_producer_ids_response.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"
#include "samsa/util/logging.h"

namespace samsa::broker {
namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.coordinator.transaction.ProducerIdManager");
  return l;
}

std::optional<protocol::AllocateProducerIdsResponse> decode_response(const std::vector<uint8_t>& body) {
  try {
    protocol::WireReader r(body);
    protocol::AllocateProducerIdsResponse response;
    response.decode(r, 0);
    return response;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

metadata::AllocateProducerIdsResult ProducerIdManager::allocate_here() {
  metadata::AllocateProducerIdsResult allocated;
  auto committed = controller_.commit([&](const MetadataImage& image) -> std::vector<metadata::RecordAndVersion> {
    auto it = image.brokers.find(node_id_);
    const int64_t broker_epoch = it == image.brokers.end() ? -1 : it->second.epoch;
    allocated = metadata::allocate_producer_ids(image, node_id_, broker_epoch);
    return allocated.records;
  });
  if (auto* error = std::get_if<ControllerError>(&committed)) allocated.error = to_api_error(*error);
  return allocated;
}

metadata::AllocateProducerIdsResult ProducerIdManager::allocate_remotely() {
  protocol::AllocateProducerIdsRequest request;
  request.broker_id = node_id_;
  auto image = metadata_->current();
  if (auto it = image->brokers.find(node_id_); it != image->brokers.end()) request.broker_epoch = it->second.epoch;
  protocol::WireWriter w;
  request.encode(w, 0);

  auto answer = std::make_shared<std::promise<std::optional<std::vector<uint8_t>>>>();
  auto future = answer->get_future();
  channel_->send(
      protocol::AllocateProducerIdsRequest::kApiKey, 0, w.take(), kBlockRequestTimeout,
      [](const std::vector<uint8_t>& body) {
        auto r = decode_response(body);
        return r && r->error_code == protocol::code(protocol::ErrorCode::NOT_CONTROLLER);
      },
      [answer](std::optional<std::vector<uint8_t>> body) { answer->set_value(std::move(body)); });

  metadata::AllocateProducerIdsResult allocated;
  auto body = future.get();  // the channel always answers, by its deadline at the latest
  auto response = body ? decode_response(*body) : std::nullopt;
  if (!response) {
    allocated.error = {protocol::ErrorCode::REQUEST_TIMED_OUT, "No answer from the active controller."};
  } else if (response->error_code != 0) {
    auto code = static_cast<protocol::ErrorCode>(response->error_code);
    allocated.error = {code, "The active controller refused the producer id block."};
  } else {
    allocated.block = {response->producer_id_start, response->producer_id_len};
  }
  return allocated;
}

ProducerIdResult ProducerIdManager::generate() {
  std::lock_guard lock(mu_);
  if (next_ >= end_) {
    const bool remote = channel_ != nullptr && metadata_ != nullptr && !controller_.active();
    metadata::AllocateProducerIdsResult allocated = remote ? allocate_remotely() : allocate_here();
    if (!allocated.error.ok()) {
      log()->error("Could not reserve a producer id block: {}", allocated.error.message);
      // Kafka's broker retries a failed block request; the client does too.
      auto code = allocated.error.code == protocol::ErrorCode::UNKNOWN_SERVER_ERROR
                      ? protocol::ErrorCode::UNKNOWN_SERVER_ERROR
                      : protocol::ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
      return {-1, {code, allocated.error.message}};
    }
    next_ = allocated.block.first_id;
    end_ = allocated.block.first_id + allocated.block.size;
    log()->info("Reserved producer id block [{}, {})", next_, end_);
  }
  return {next_++, {}};
}

}  // namespace samsa::broker
