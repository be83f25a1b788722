// Heartbeat decisions of the active controller (KIP-631): Kafka's
// BrokerHeartbeatManager#calculateNextBrokerState and the records
// ReplicationControlManager writes for each transition.
#include "samsa/broker/metadata/broker_lifecycle.h"
#include "samsa/broker/metadata/controller.h"

namespace samsa::broker::metadata {

using protocol::ErrorCode;

namespace {

constexpr int16_t kIbp33Iv3 = 7;  // BrokerRegistrationChangeRecord.InControlledShutdown

bool fenced(BrokerControlState s) { return s == BrokerControlState::kFenced || s == BrokerControlState::kShutdownNow; }
bool shutting_down(BrokerControlState s) {
  return s == BrokerControlState::kControlledShutdown || s == BrokerControlState::kShutdownNow;
}

void append(std::vector<RecordAndVersion>& to, std::vector<RecordAndVersion> from) {
  for (auto& r : from) to.push_back(std::move(r));
}

}  // namespace

BrokerControlState current_control_state(const BrokerRegistration& broker) {
  if (broker.fenced) return BrokerControlState::kFenced;
  if (broker.in_controlled_shutdown) return BrokerControlState::kControlledShutdown;
  return BrokerControlState::kUnfenced;
}

std::vector<RecordAndVersion> fence_broker_records(const MetadataImage& image, int32_t broker_id,
                                                   const ControllerDefaults& defaults) {
  auto it = image.brokers.find(broker_id);
  if (it == image.brokers.end() || it->second.fenced) return {};
  std::vector<RecordAndVersion> out = remove_broker_from_partitions(image, broker_id, defaults);
  out.push_back(std::get<RecordAndVersion>(fence_broker(image, broker_id, true)));
  return out;
}

std::vector<RecordAndVersion> unfence_broker_records(const MetadataImage& image, int32_t broker_id,
                                                     const ControllerDefaults& defaults) {
  auto it = image.brokers.find(broker_id);
  if (it == image.brokers.end() || !it->second.fenced) return {};
  std::vector<RecordAndVersion> out;
  out.push_back(std::get<RecordAndVersion>(fence_broker(image, broker_id, false)));
  append(out, elect_leaderless_partitions(image, broker_id, defaults));
  return out;
}

std::vector<RecordAndVersion> controlled_shutdown_records(const MetadataImage& image, int32_t broker_id,
                                                          const ControllerDefaults& defaults) {
  auto it = image.brokers.find(broker_id);
  if (it == image.brokers.end()) return {};
  std::vector<RecordAndVersion> out;
  // Older metadata versions have no field for it; the leadership moves
  // still happen, as in Kafka.
  if (image.metadata_version >= kIbp33Iv3 && !it->second.in_controlled_shutdown) {
    protocol::BrokerRegistrationChangeRecord r;
    r.broker_id = broker_id;
    r.broker_epoch = it->second.epoch;
    r.in_controlled_shutdown = 1;
    auto fence = std::get<RecordAndVersion>(fence_broker(image, broker_id, true));
    out.push_back({std::move(r), fence.version});
  }
  append(out, remove_broker_from_partitions(image, broker_id, defaults));
  return out;
}

BrokerHeartbeatResult broker_heartbeat(const MetadataImage& image, const BrokerHeartbeatInput& in,
                                       bool others_caught_up_to_shutdown, const ControllerDefaults& defaults) {
  BrokerHeartbeatResult out;
  auto it = image.brokers.find(in.broker_id);
  if (it == image.brokers.end()) {
    out.error = {ErrorCode::BROKER_ID_NOT_REGISTERED,
                 "Received a heartbeat from broker " + std::to_string(in.broker_id) + " before registration"};
    return out;
  }
  const BrokerRegistration& b = it->second;
  if (b.epoch != in.broker_epoch) {
    out.error = {ErrorCode::STALE_BROKER_EPOCH, "Expected broker epoch " + std::to_string(b.epoch) +
                                                    ", but got broker epoch " + std::to_string(in.broker_epoch)};
    return out;
  }
  using S = BrokerControlState;
  const S current = current_control_state(b);
  S next = current;
  switch (current) {
    case S::kFenced:
      if (in.want_shut_down)
        next = S::kShutdownNow;  // nothing to hand over: stop at once
      else if (!in.want_fence && in.current_metadata_offset >= b.epoch)
        next = S::kUnfenced;  // caught up with its own registration
      break;
    case S::kUnfenced:
      if (in.want_fence)
        next = in.want_shut_down ? S::kShutdownNow : S::kFenced;
      else if (in.want_shut_down)
        next = leads_any_partition(image, in.broker_id) ? S::kControlledShutdown : S::kShutdownNow;
      break;
    case S::kControlledShutdown:
      // The broker may stop once it leads nothing and every other active
      // broker has seen the moves, so no client is sent to it meanwhile.
      if (!leads_any_partition(image, in.broker_id) && others_caught_up_to_shutdown) next = S::kShutdownNow;
      break;
    case S::kShutdownNow:
      break;
  }
  if (next != current) {
    switch (next) {
      case S::kFenced:
      case S::kShutdownNow:
        out.records = fence_broker_records(image, in.broker_id, defaults);
        break;
      case S::kUnfenced:
        out.records = unfence_broker_records(image, in.broker_id, defaults);
        break;
      case S::kControlledShutdown:
        out.records = controlled_shutdown_records(image, in.broker_id, defaults);
        break;
    }
  }
  out.current = current;
  out.next = next;
  out.is_caught_up = in.current_metadata_offset >= b.epoch;
  out.is_fenced = fenced(next);
  out.in_controlled_shutdown = shutting_down(next);
  out.should_shut_down = next == S::kShutdownNow;
  return out;
}

}  // namespace samsa::broker::metadata
