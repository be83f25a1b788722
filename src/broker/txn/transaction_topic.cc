// __transaction_state creation, the way group_coordinator.cc creates
// __consumer_offsets (locally on the active controller, else CreateTopics
// to it).
#include "samsa/broker/txn/transaction_topic.h"

#include <chrono>
#include <string>
#include <vector>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/controller_channel.h"
#include "samsa/broker/controller_service.h"
#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata_image.h"
#include "samsa/broker/txn/transaction_log.h"
#include "samsa/protocol/gen/create_topics_request.h"
#include "samsa/util/logging.h"

namespace samsa::broker::txn {

using protocol::ErrorCode;

namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.coordinator.transaction.TransactionStateManager");
  return l;
}

std::vector<std::pair<std::string, std::string>> topic_configs(const BrokerConfig& cfg) {
  return {{"cleanup.policy", "compact"},
          {"compression.type", "uncompressed"},
          {"min.insync.replicas", std::to_string(cfg.transaction_state_log_min_isr)},
          {"segment.bytes", std::to_string(cfg.transaction_state_log_segment_bytes)},
          {"unclean.leader.election.enable", "false"}};
}

}  // namespace

ErrorCode ensure_transaction_state_topic(BrokerServices& services,
                                         const std::shared_ptr<std::atomic<bool>>& in_flight) {
  auto image = services.metadata.current();
  if (image->topic(kTransactionStateTopic)) return ErrorCode::NONE;
  if (!services.controller || !services.config) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  const BrokerConfig& cfg = *services.config;
  size_t live = 0;
  for (const auto& [_, b] : image->brokers) live += b.fenced ? 0 : 1;
  if (live < static_cast<size_t>(cfg.transaction_state_log_replication_factor)) {
    // Every transactional FindCoordinator lands here until enough brokers
    // run: say it once a minute, not once per request.
    constexpr int64_t kWarnIntervalMs = 60'000;
    static std::atomic<int64_t> last_warned_ms{-kWarnIntervalMs};
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
    int64_t last = last_warned_ms.load(std::memory_order_relaxed);
    if (now_ms - last >= kWarnIntervalMs && last_warned_ms.compare_exchange_strong(last, now_ms))
      log()->warn("Cannot create {} yet: {} live brokers, transaction.state.log.replication.factor is {}",
                  kTransactionStateTopic, live, cfg.transaction_state_log_replication_factor);
    return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  }
  if (!services.controller->active() && services.controller_channel) {
    if (in_flight->exchange(true)) return ErrorCode::COORDINATOR_NOT_AVAILABLE;
    protocol::CreateTopicsRequest request;
    auto& t = request.topics.emplace_back();
    t.name = kTransactionStateTopic;
    t.num_partitions = cfg.transaction_state_log_num_partitions;
    t.replication_factor = cfg.transaction_state_log_replication_factor;
    for (auto& [k, v] : topic_configs(cfg)) t.configs.push_back({k, v, {}});
    request.timeout_ms = 30'000;
    send_create_topics(*services.controller_channel, request, [in_flight](bool answered) {
      in_flight->store(false);
      if (!answered) log()->warn("Asking the controller to create {} got no answer", kTransactionStateTopic);
    });
    return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  }
  ControllerService& controller = *services.controller;
  auto committed = controller.commit([&](const MetadataImage& img) -> std::vector<metadata::RecordAndVersion> {
    if (img.topic(kTransactionStateTopic)) return {};
    metadata::CreatableTopic t;
    t.name = kTransactionStateTopic;
    t.num_partitions = cfg.transaction_state_log_num_partitions;
    t.replication_factor = cfg.transaction_state_log_replication_factor;
    for (auto& [k, v] : topic_configs(cfg)) t.configs.emplace_back(k, v);
    auto result = metadata::create_topics(img, std::span(&t, 1), false, controller.defaults(), controller.placer());
    if (!result.topics.empty() && !result.topics[0].error.ok())
      log()->warn("Creating {} failed: {}", kTransactionStateTopic, result.topics[0].error.message);
    return result.records;
  });
  if (auto* error = std::get_if<ControllerError>(&committed)) {
    log()->error("Creating {} failed: {}", kTransactionStateTopic, to_api_error(*error).message);
    return ErrorCode::COORDINATOR_NOT_AVAILABLE;
  }
  return services.metadata.current()->topic(kTransactionStateTopic) ? ErrorCode::NONE
                                                                     : ErrorCode::COORDINATOR_NOT_AVAILABLE;
}

}  // namespace samsa::broker::txn
