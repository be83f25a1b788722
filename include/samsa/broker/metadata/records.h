#pragma once
// Metadata records as the controller logic produces them: the generated
// record struct plus the version to write it at, and the error value every
// controller operation reports per topic / resource.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/broker_registration_change_record.h"
#include "samsa/protocol/gen/config_record.h"
#include "samsa/protocol/gen/feature_level_record.h"
#include "samsa/protocol/gen/fence_broker_record.h"
#include "samsa/protocol/gen/no_op_record.h"
#include "samsa/protocol/gen/partition_change_record.h"
#include "samsa/protocol/gen/partition_record.h"
#include "samsa/protocol/gen/producer_ids_record.h"
#include "samsa/protocol/gen/register_broker_record.h"
#include "samsa/protocol/gen/remove_topic_record.h"
#include "samsa/protocol/gen/topic_record.h"
#include "samsa/protocol/gen/unfence_broker_record.h"
#include "samsa/protocol/gen/unregister_broker_record.h"

namespace samsa::broker::metadata {

struct ApiError {
  protocol::ErrorCode code = protocol::ErrorCode::NONE;
  std::string message;  // empty = Kafka's null message

  static ApiError none() { return {}; }
  bool ok() const { return code == protocol::ErrorCode::NONE; }
  bool operator==(const ApiError&) const = default;
};

using AnyMetadataRecord =
    std::variant<protocol::RegisterBrokerRecord, protocol::UnregisterBrokerRecord, protocol::TopicRecord,
                 protocol::PartitionRecord, protocol::ConfigRecord, protocol::PartitionChangeRecord,
                 protocol::FenceBrokerRecord, protocol::UnfenceBrokerRecord, protocol::RemoveTopicRecord,
                 protocol::FeatureLevelRecord, protocol::ProducerIdsRecord,
                 protocol::BrokerRegistrationChangeRecord, protocol::NoOpRecord>;

struct RecordAndVersion {
  AnyMetadataRecord record;
  int16_t version = 0;
};

// The record type (schema apiKey) of a record.
int16_t record_type(const AnyMetadataRecord& record);

// The record framed as a metadata log record value (raft::frame_metadata_record).
std::vector<uint8_t> frame(const RecordAndVersion& record);

// Record versions a controller writes at a metadata.version feature level
// (Kafka's MetadataVersion#partitionRecordVersion and friends).
int16_t partition_record_version(int16_t metadata_version);
int16_t partition_change_record_version(int16_t metadata_version);
int16_t register_broker_record_version(int16_t metadata_version);

}  // namespace samsa::broker::metadata

namespace samsa::broker::metadata {

// SecurityProtocol ids as RegisterBrokerRecord endpoints carry them.
std::string security_protocol_name(int16_t id);
int16_t security_protocol_id(std::string_view name);  // -1 if unknown

}  // namespace samsa::broker::metadata
