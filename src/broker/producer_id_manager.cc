#include "samsa/broker/producer_id_manager.h"

#include "samsa/broker/controller_service.h"
#include "samsa/broker/metadata/controller.h"
#include "samsa/util/logging.h"

namespace samsa::broker {
namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.coordinator.transaction.ProducerIdManager");
  return l;
}

}  // namespace

ProducerIdResult ProducerIdManager::generate() {
  std::lock_guard lock(mu_);
  if (next_ >= end_) {
    metadata::AllocateProducerIdsResult allocated;
    auto committed = controller_.commit([&](const MetadataImage& image) -> std::vector<metadata::RecordAndVersion> {
      auto it = image.brokers.find(node_id_);
      const int64_t broker_epoch = it == image.brokers.end() ? -1 : it->second.epoch;
      allocated = metadata::allocate_producer_ids(image, node_id_, broker_epoch);
      return allocated.records;
    });
    if (auto* error = std::get_if<ControllerError>(&committed)) {
      auto why = to_api_error(*error).message;
      log()->error("Could not reserve a producer id block: {}", why);
      return {-1, {protocol::ErrorCode::COORDINATOR_LOAD_IN_PROGRESS, why}};
    }
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
