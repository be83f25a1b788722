#pragma once
// Controller logic as pure functions over the current image: each operation
// validates a request the way Kafka's QuorumController does and returns the
// metadata records to append plus a per-item result. Nothing here does I/O;
// the caller appends the records (unless validate_only) and replays them.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "samsa/broker/metadata/records.h"
#include "samsa/broker/metadata/replica_placer.h"
#include "samsa/broker/metadata_image.h"
#include "samsa/broker/topic_config.h"

namespace samsa::broker::metadata {

// Server settings the controller applies to requests.
struct ControllerDefaults {
  int32_t num_partitions = 1;              // num.partitions
  int16_t default_replication_factor = 1;  // default.replication.factor
  bool delete_topic_enable = true;         // delete.topic.enable
  int32_t node_id = -1;                    // for this node's dynamic broker configs
  ConfigMap static_broker_config;          // explicit server.properties keys
};
ControllerDefaults controller_defaults(const BrokerConfig& config);

// Broker config layers as the controller sees them in `image`.
BrokerConfigLayers controller_config_layers(const MetadataImage& image, const ControllerDefaults& defaults);

// --- CreateTopics ---
struct CreatableReplicaAssignment {
  int32_t partition_index = 0;
  std::vector<int32_t> broker_ids;
};
struct CreatableTopic {
  std::string name;
  int32_t num_partitions = -1;      // -1 = num.partitions
  int16_t replication_factor = -1;  // -1 = default.replication.factor
  std::vector<CreatableReplicaAssignment> assignments;
  std::vector<std::pair<std::string, std::optional<std::string>>> configs;
};
struct CreatableTopicResult {
  std::string name;
  protocol::Uuid topic_id;
  ApiError error;
  int32_t num_partitions = -1;
  int16_t replication_factor = -1;
};
struct CreateTopicsResult {
  std::vector<RecordAndVersion> records;  // empty when validate_only
  std::vector<CreatableTopicResult> topics;  // request order; one entry per distinct name
};
CreateTopicsResult create_topics(const MetadataImage& image, std::span<const CreatableTopic> topics, bool validate_only,
                                 const ControllerDefaults& defaults, ReplicaPlacer& placer);

// --- DeleteTopics ---
struct DeleteTopicRef {
  std::optional<std::string> name;  // by name (id zero) or by id (name empty)
  protocol::Uuid id;
};
struct DeletableTopicResult {
  std::optional<std::string> name;
  protocol::Uuid topic_id;
  ApiError error;
};
struct DeleteTopicsResult {
  std::vector<RecordAndVersion> records;
  std::vector<DeletableTopicResult> topics;
};
// api_version picks TOPIC_DELETION_DISABLED (v3+) or INVALID_REQUEST when
// delete.topic.enable is false.
DeleteTopicsResult delete_topics(const MetadataImage& image, std::span<const DeleteTopicRef> topics,
                                 const ControllerDefaults& defaults, int16_t api_version = 6);

// --- CreatePartitions ---
struct CreatePartitionsTopic {
  std::string name;
  int32_t count = 0;  // new total
  std::optional<std::vector<std::vector<int32_t>>> assignments;  // replicas of each new partition
};
struct CreatePartitionsTopicResult {
  std::string name;
  ApiError error;
};
struct CreatePartitionsResult {
  std::vector<RecordAndVersion> records;
  std::vector<CreatePartitionsTopicResult> topics;
};
CreatePartitionsResult create_partitions(const MetadataImage& image, std::span<const CreatePartitionsTopic> topics,
                                         bool validate_only, ReplicaPlacer& placer);

// --- AlterConfigs / IncrementalAlterConfigs ---
enum class AlterConfigOp : int8_t { kSet = 0, kDelete = 1, kAppend = 2, kSubtract = 3 };
struct AlterableConfig {
  std::string name;
  AlterConfigOp op = AlterConfigOp::kSet;  // ignored by the legacy alter_configs
  std::optional<std::string> value;
};
struct AlterConfigsResource {
  int8_t resource_type = 0;  // ConfigResourceType
  std::string resource_name;
  std::vector<AlterableConfig> configs;
};
struct AlterConfigsResourceResult {
  int8_t resource_type = 0;
  std::string resource_name;
  ApiError error;
};
struct AlterConfigsResult {
  std::vector<RecordAndVersion> records;
  std::vector<AlterConfigsResourceResult> resources;
};
AlterConfigsResult incremental_alter_configs(const MetadataImage& image, std::span<const AlterConfigsResource> resources,
                                             bool validate_only, const ControllerDefaults& defaults);
// Legacy AlterConfigs: each resource's configs replace all its current ones.
AlterConfigsResult alter_configs(const MetadataImage& image, std::span<const AlterConfigsResource> resources,
                                 bool validate_only, const ControllerDefaults& defaults);

// --- Cluster ---
struct BrokerRegistrationInput {
  int32_t broker_id = -1;
  std::string cluster_id;
  protocol::Uuid incarnation_id;
  std::vector<BrokerEndpoint> listeners;
  std::vector<std::pair<std::string, std::pair<int16_t, int16_t>>> features;  // name -> [min, max]
  std::optional<std::string> rack;
  std::vector<protocol::Uuid> log_dirs;
  // v3+: the epoch of the incarnation that shut down cleanly before this
  // one, -1 when it did not (KIP-966).
  int64_t previous_broker_epoch = -1;
};
struct RegisterBrokerResult {
  ApiError error;
  int64_t broker_epoch = -1;
  std::vector<RecordAndVersion> records;
};
// `next_offset` is the offset the batch will start at; the RegisterBrokerRecord
// comes last and its offset becomes the broker epoch. Kafka's checks: the
// cluster id (INCONSISTENT_CLUSTER_ID), another incarnation while the old one's
// session is alive (DUPLICATE_BROKER_REGISTRATION; `old_session_alive` comes
// from the controller's heartbeat tracking, nullopt: "while it is unfenced"),
// every finalized feature within the broker's range (UNSUPPORTED_VERSION). The
// same incarnation registering again gets its epoch back and no records. A new
// incarnation whose previous_broker_epoch is not the registered epoch (an
// unclean shutdown: its unflushed tail may be lost) first leaves every ISR
// and ELR and every leadership (unclean_shutdown_records); after a clean
// shutdown only an old process still unfenced is taken out of them.
RegisterBrokerResult register_broker(const MetadataImage& image, const BrokerRegistrationInput& input,
                                     int64_t next_offset, std::optional<bool> old_session_alive = std::nullopt,
                                     const ControllerDefaults& defaults = {});
// The record that fences / unfences a registered broker.
std::variant<RecordAndVersion, ApiError> fence_broker(const MetadataImage& image, int32_t broker_id, bool fenced);

struct ProducerIdBlock {
  int64_t first_id = 0;
  int32_t size = 0;
};
struct AllocateProducerIdsResult {
  ApiError error;
  ProducerIdBlock block;
  std::vector<RecordAndVersion> records;
};
inline constexpr int32_t kProducerIdBlockSize = 1000;
AllocateProducerIdsResult allocate_producer_ids(const MetadataImage& image, int32_t broker_id, int64_t broker_epoch);

// Records that start a new cluster's metadata log: metadata.version, then
// every other feature of the bootstrap checkpoint (level > 0).
std::vector<RecordAndVersion> bootstrap_records(int16_t metadata_version,
                                                const std::map<std::string, int16_t>& features = {});

}  // namespace samsa::broker::metadata
