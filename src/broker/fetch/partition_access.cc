#include "samsa/broker/fetch/partition_access.h"

#include "samsa/broker/broker_services.h"

namespace samsa::broker {

using protocol::ErrorCode;

namespace {

PartitionLookup lookup(const BrokerServices& services, const MetadataImage& image, const std::string& topic,
                       int32_t partition, int32_t current_leader_epoch, bool require_leader) {
  const TopicImage* t = image.topic(topic);
  if (!t || !t->partition(partition)) return {nullptr, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION};
  auto hosted = services.replicas ? services.replicas->get(topic, partition) : nullptr;
  if (!hosted) return {nullptr, ErrorCode::NOT_LEADER_OR_FOLLOWER};
  ErrorCode e = hosted->check_epoch(current_leader_epoch, require_leader);
  if (e != ErrorCode::NONE) return {nullptr, e};
  return {std::move(hosted), ErrorCode::NONE};
}

}  // namespace

PartitionLookup lookup_leader_partition(const BrokerServices& services, const MetadataImage& image,
                                        const std::string& topic, int32_t partition, int32_t current_leader_epoch) {
  return lookup(services, image, topic, partition, current_leader_epoch, true);
}

PartitionLookup lookup_hosted_partition(const BrokerServices& services, const MetadataImage& image,
                                        const std::string& topic, int32_t partition, int32_t current_leader_epoch) {
  return lookup(services, image, topic, partition, current_leader_epoch, false);
}

ErrorCode kafka_error(log::LogErrc code) {
  switch (code) {
    case log::LogErrc::kCorruptMessage: return ErrorCode::CORRUPT_MESSAGE;
    case log::LogErrc::kRecordTooLarge: return ErrorCode::MESSAGE_TOO_LARGE;
    case log::LogErrc::kRecordBatchTooLarge: return ErrorCode::RECORD_LIST_TOO_LARGE;
    case log::LogErrc::kInvalidTimestamp: return ErrorCode::INVALID_TIMESTAMP;
    case log::LogErrc::kInvalidRecord: return ErrorCode::INVALID_RECORD;
    case log::LogErrc::kUnsupportedVersion: return ErrorCode::UNSUPPORTED_FOR_MESSAGE_FORMAT;
    case log::LogErrc::kOffsetOutOfRange: return ErrorCode::OFFSET_OUT_OF_RANGE;
    case log::LogErrc::kInconsistentTopicId: return ErrorCode::INCONSISTENT_TOPIC_ID;
    case log::LogErrc::kStorageError: return ErrorCode::KAFKA_STORAGE_ERROR;
    case log::LogErrc::kLogClosed: return ErrorCode::NOT_LEADER_OR_FOLLOWER;
    case log::LogErrc::kNonMonotonicOffsets: return ErrorCode::UNKNOWN_SERVER_ERROR;
    case log::LogErrc::kOutOfOrderSequence: return ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER;
    case log::LogErrc::kInvalidProducerEpoch: return ErrorCode::INVALID_PRODUCER_EPOCH;
    case log::LogErrc::kInvalidTxnState: return ErrorCode::INVALID_TXN_STATE;
    case log::LogErrc::kTransactionCoordinatorFenced: return ErrorCode::TRANSACTION_COORDINATOR_FENCED;
  }
  return ErrorCode::UNKNOWN_SERVER_ERROR;
}

int32_t epoch_for_offset(log::Log& log, int64_t offset) {
  int32_t epoch = -1;
  for (const auto& e : log.leader_epoch_cache().entries()) {
    if (e.start_offset > offset) break;
    epoch = e.epoch;
  }
  return epoch;
}

}  // namespace samsa::broker
