#pragma once
// Helpers shared by the controller operations.
#include <optional>
#include <string>
#include <vector>

#include "samsa/broker/metadata/controller.h"

namespace samsa::broker::metadata::detail {

// ISR of new replicas: the ones on unfenced brokers not in controlled shutdown.
std::vector<int32_t> active_replicas(const MetadataImage& image, const std::vector<int32_t>& replicas);

// The directory a new replica on `broker` is assigned (Kafka's
// ClusterControlManager#defaultDir).
protocol::Uuid default_dir(const MetadataImage& image, int32_t broker);

// A new partition's record: leader = first ISR member, epochs 0, directories
// as Kafka's ClusterControlManager#defaultDir picks them.
RecordAndVersion new_partition_record(const MetadataImage& image, const protocol::Uuid& topic_id, int32_t partition,
                                      const std::vector<int32_t>& replicas, const std::vector<int32_t>& isr);

// Kafka's validateManualPartitionAssignment; nullopt when fine.
std::optional<ApiError> check_manual_assignment(const MetadataImage& image, const std::vector<int32_t>& replicas,
                                                std::optional<size_t> replication_factor);

// The ConfigRecords that apply `ops` to one resource (Kafka's
// ConfigurationControlManager#incrementalAlterConfigResource, or the legacy
// replace-everything variant), validated; appended to `out` on success.
// `newly_created` skips the existence check (CreateTopics).
ApiError alter_resource_configs(const MetadataImage& image, const ConfigResource& resource,
                                const std::vector<AlterableConfig>& ops, bool incremental, bool newly_created,
                                const ControllerDefaults& defaults, std::vector<RecordAndVersion>& out);

// Kafka's Topic.validate message, or nullopt for a legal name.
std::optional<std::string> invalid_topic_name(std::string_view name);

}  // namespace samsa::broker::metadata::detail
