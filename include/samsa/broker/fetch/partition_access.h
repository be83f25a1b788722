#pragma once
// What Produce, Fetch and ListOffsets share: finding the partition a request
// names (Kafka's ReplicaManager.getPartitionOrException plus the leader epoch
// check of Partition.localLogWithEpochOrThrow) and mapping log errors onto
// Kafka error codes.
#include <cstdint>
#include <memory>
#include <string>

#include "samsa/broker/metadata_image.h"
#include "samsa/broker/replica/replica_manager.h"
#include "samsa/log/log_error.h"
#include "samsa/protocol/error_code.h"

namespace samsa::broker {

struct BrokerServices;

struct PartitionLookup {
  std::shared_ptr<replica::Partition> partition;  // set when error == NONE
  protocol::ErrorCode error = protocol::ErrorCode::NONE;
};

// UNKNOWN_TOPIC_OR_PARTITION when the image has no such partition,
// NOT_LEADER_OR_FOLLOWER when this broker does not host or lead it,
// FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH when `current_leader_epoch`
// (-1: no check) is older / newer than the partition's.
PartitionLookup lookup_leader_partition(const BrokerServices& services, const MetadataImage& image,
                                        const std::string& topic, int32_t partition,
                                        int32_t current_leader_epoch = -1);
// The same for a partition this broker hosts as leader or follower (a
// follower's fetch reaches the leader; KIP-392 consumers may read a
// follower): the epoch checks, no leadership check.
PartitionLookup lookup_hosted_partition(const BrokerServices& services, const MetadataImage& image,
                                        const std::string& topic, int32_t partition,
                                        int32_t current_leader_epoch = -1);

// The comments of log_error.h: kLogClosed (partition being removed) answers
// NOT_LEADER_OR_FOLLOWER, as Kafka does for a partition it no longer hosts.
protocol::ErrorCode kafka_error(log::LogErrc code);

// The epoch in force at `offset` (Kafka's LeaderEpochFileCache.epochForOffset);
// -1 when unknown.
int32_t epoch_for_offset(log::Log& log, int64_t offset);

}  // namespace samsa::broker
