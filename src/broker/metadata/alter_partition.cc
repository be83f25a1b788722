// AlterPartition validation and records (Kafka's ReplicationControlManager
// #alterPartition / validateAlterPartitionData / ineligibleReplicasForIsr).
#include "samsa/broker/metadata/alter_partition.h"

#include <algorithm>
#include <set>

#include "samsa/broker/metadata/partition_change.h"
#include "samsa/util/logging.h"

namespace samsa::broker::metadata {

using protocol::AlterPartitionRequest;
using protocol::AlterPartitionResponse;
using protocol::ErrorCode;

namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.controller.ReplicationControlManager");
  return l;
}

constexpr int8_t kRecovered = 0;
constexpr int8_t kRecovering = 1;

using BrokerState = AlterPartitionRequest::TopicData::PartitionData::BrokerState;

// The new ISR with broker epochs; before v3 the epochs are unknown (-1).
std::vector<BrokerState> new_isr(const AlterPartitionRequest::TopicData::PartitionData& p, int16_t version) {
  if (version >= 3) return p.new_isr_with_epochs;
  std::vector<BrokerState> out;
  for (int32_t id : p.new_isr) {
    BrokerState s;
    s.broker_id = id;
    out.push_back(s);
  }
  return out;
}

// Every member distinct, non-negative and a replica (Kafka's Replicas#validateIsr).
bool isr_within_replicas(const std::vector<int32_t>& replicas, const std::vector<int32_t>& isr) {
  std::set<int32_t> seen;
  for (int32_t id : isr) {
    if (id < 0 || !seen.insert(id).second) return false;
    if (std::find(replicas.begin(), replicas.end(), id) == replicas.end()) return false;
  }
  return true;
}

// Why a member may not join the ISR, or empty when it may.
std::string ineligible(const MetadataImage& image, const BrokerState& member) {
  auto it = image.brokers.find(member.broker_id);
  if (it == image.brokers.end()) return "not registered";
  if (it->second.in_controlled_shutdown) return "shutting down";
  if (it->second.fenced) return "fenced";
  if (member.broker_epoch != -1 && member.broker_epoch != it->second.epoch)
    return "broker epoch mismatch: requested=" + std::to_string(member.broker_epoch) +
           " VS expected=" + std::to_string(it->second.epoch);
  return {};
}

ErrorCode validate(const MetadataImage& image, int32_t broker_id, const std::string& topic,
                   const PartitionImage* partition, const AlterPartitionRequest::TopicData::PartitionData& data,
                   const std::vector<BrokerState>& isr, int16_t version) {
  const std::string where = topic + "-" + std::to_string(data.partition_index);
  if (partition == nullptr) return ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
  // Epochs ahead of ours: this controller has not caught up, or is no
  // longer the active one; NOT_CONTROLLER makes the leader look again.
  if (data.leader_epoch > partition->leader_epoch || data.partition_epoch > partition->partition_epoch)
    return ErrorCode::NOT_CONTROLLER;
  if (data.leader_epoch < partition->leader_epoch) return ErrorCode::FENCED_LEADER_EPOCH;
  if (broker_id != partition->leader) {
    log()->info("Rejecting AlterPartition from node {} for {}: the leader is {}", broker_id, where,
                partition->leader);
    return ErrorCode::INVALID_REQUEST;
  }
  if (data.partition_epoch < partition->partition_epoch) return ErrorCode::INVALID_UPDATE_VERSION;
  std::vector<int32_t> ids;
  for (const auto& s : isr) ids.push_back(s.broker_id);
  if (!ids.empty() && !isr_within_replicas(partition->replicas, ids)) return ErrorCode::INVALID_REQUEST;
  if (std::find(ids.begin(), ids.end(), partition->leader) == ids.end()) return ErrorCode::INVALID_REQUEST;
  if (data.leader_recovery_state != kRecovered && data.leader_recovery_state != kRecovering)
    return ErrorCode::INVALID_REQUEST;
  // A leader still recovering from an unclean election keeps the ISR to
  // itself, and a recovered one cannot go back.
  if (data.leader_recovery_state == kRecovering && ids.size() > 1) return ErrorCode::INVALID_REQUEST;
  if (partition->leader_recovery_state == kRecovered && data.leader_recovery_state == kRecovering)
    return ErrorCode::INVALID_REQUEST;
  for (const auto& member : isr) {
    std::string why = ineligible(image, member);
    if (why.empty()) continue;
    log()->info("Rejecting AlterPartition from node {} for {}: replica {} is {}", broker_id, where, member.broker_id,
                why);
    return version > 1 ? ErrorCode::INELIGIBLE_REPLICA : ErrorCode::OPERATION_NOT_ATTEMPTED;
  }
  return ErrorCode::NONE;
}

AlterPartitionResponse::TopicData::PartitionData failed(int32_t index, ErrorCode error) {
  AlterPartitionResponse::TopicData::PartitionData out;
  out.partition_index = index;
  out.error_code = protocol::code(error);
  return out;
}

}  // namespace

AlterPartitionResult alter_partition(const MetadataImage& image, const AlterPartitionRequest& request,
                                     int16_t version, const ControllerDefaults& defaults) {
  AlterPartitionResult out;
  auto sender = image.brokers.find(request.broker_id);
  if (sender == image.brokers.end() || sender->second.epoch != request.broker_epoch) {
    out.response.error_code = protocol::code(ErrorCode::STALE_BROKER_EPOCH);
    return out;
  }
  for (const auto& topic_data : request.topics) {
    AlterPartitionResponse::TopicData answer;
    answer.topic_name = topic_data.topic_name;
    answer.topic_id = topic_data.topic_id;
    const TopicImage* topic =
        version > 1 ? image.topic(topic_data.topic_id) : image.topics->find(std::string_view(topic_data.topic_name));
    if (topic == nullptr) {
      const ErrorCode error = version > 1 ? ErrorCode::UNKNOWN_TOPIC_ID : ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      for (const auto& p : topic_data.partitions) answer.partitions.push_back(failed(p.partition_index, error));
      out.response.topics.push_back(std::move(answer));
      continue;
    }
    std::optional<PartitionChangeSettings> settings;
    for (const auto& data : topic_data.partitions) {
      const PartitionImage* current = topic->partition(data.partition_index);
      std::vector<BrokerState> isr = new_isr(data, version);
      ErrorCode error = validate(image, request.broker_id, topic->name, current, data, isr, version);
      if (error != ErrorCode::NONE) {
        answer.partitions.push_back(failed(data.partition_index, error));
        continue;
      }
      if (!settings) settings = partition_change_settings(image, *topic, defaults);
      PartitionChangeRequest change;
      change.target_isr.emplace();
      for (const auto& s : isr) change.target_isr->push_back(s.broker_id);
      change.target_leader_recovery_state = data.leader_recovery_state;
      PartitionImage next = *current;
      if (auto record = build_partition_change(image, topic->id, *current, change, *settings)) {
        const auto& r = std::get<protocol::PartitionChangeRecord>(record->record);
        merge_partition_change(next, r);
        const int32_t new_leader = r.leader;
        out.records.push_back(std::move(*record));
        if (new_leader != -2 && new_leader != request.broker_id) {
          // The change moved the leadership (it cannot, short of a
          // reassignment completing): the sender must learn the new state
          // from the metadata before asking again.
          answer.partitions.push_back(failed(
              data.partition_index, version > 1 ? ErrorCode::NEW_LEADER_ELECTED : ErrorCode::FENCED_LEADER_EPOCH));
          continue;
        }
      }
      AlterPartitionResponse::TopicData::PartitionData ok;
      ok.partition_index = data.partition_index;
      ok.leader_id = next.leader;
      ok.leader_epoch = next.leader_epoch;
      ok.isr = next.isr;
      ok.leader_recovery_state = next.leader_recovery_state;
      ok.partition_epoch = next.partition_epoch;
      answer.partitions.push_back(std::move(ok));
    }
    out.response.topics.push_back(std::move(answer));
  }
  return out;
}

}  // namespace samsa::broker::metadata
