#pragma once
// Shared by the admin handlers (CreateTopics ... DescribeConfigs): running
// controller decisions through ControllerService::commit, mapping ApiError
// onto response fields, and the DescribeConfigs views of topics and brokers.
#include <cstdint>
#include "samsa/broker/internal_topics.h"
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "samsa/broker/broker_services.h"
#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata/records.h"
#include "samsa/broker/topic_config.h"

namespace samsa::broker::admin {

inline int16_t error_code(const metadata::ApiError& e) {
  return protocol::code(e.code);
}
// Kafka's message for an ApiError: null when it has none.
inline std::optional<std::string> error_message(const metadata::ApiError& e) {
  if (e.message.empty()) return std::nullopt;
  return e.message;
}

// The controller's defaults, or the ones this broker's config implies.
metadata::ControllerDefaults defaults(const BrokerServices& services);

// Runs a controller operation: `decide` gets the image to decide on and the
// controller's replica placer, and returns the records to write. With
// validate_only it runs on the current image (with a placer of its own) and
// nothing is written. Returns the error every item that was about
// to be committed must report instead (when the metadata log cannot be
// written or there is no controller), or none.
metadata::ApiError run_controller_op(
    const BrokerServices& services, bool validate_only,
    const std::function<std::vector<metadata::RecordAndVersion>(const MetadataImage&, metadata::ReplicaPlacer&)>&
        decide);

// The checks Kafka's broker makes before it forwards one AlterConfigs /
// IncrementalAlterConfigs resource to the controller (ConfigAdminManager#
// preprocess): duplicate keys, null values, resource types, and for BROKER
// resources this node's id and the keys that may change dynamically.
// nullopt: forward it. BROKER_LOGGER (incremental only) is left to the caller.
// `configs` carries the operation (kSet for the legacy API). A request that
// reached the controller listener (forwarded by the broker it names) may
// name any broker id: `require_own_id` false.
std::optional<metadata::ApiError> precheck_alter(const BrokerServices& services, int8_t resource_type,
                                                 const std::string& resource_name,
                                                 const std::vector<metadata::AlterableConfig>& configs,
                                                 bool incremental, bool require_own_id = true);
// A controller answer for a BROKER resource as Kafka's broker reports it:
// value errors surface as INVALID_REQUEST there (KAFKA-13609).
metadata::ApiError broker_resource_error(int8_t resource_type, metadata::ApiError e);

// Runs one AlterConfigs-style controller decision (metadata::alter_configs or
// incremental_alter_configs) over the resources that passed precheck_alter
// and returns the error of each, in order.
using AlterConfigsDecision = metadata::AlterConfigsResult (*)(const MetadataImage&,
                                                              std::span<const metadata::AlterConfigsResource>, bool,
                                                              const metadata::ControllerDefaults&);
std::vector<metadata::ApiError> commit_config_changes(const BrokerServices& services,
                                                      const std::vector<metadata::AlterConfigsResource>& resources,
                                                      bool validate_only, AlterConfigsDecision decision);

// Kafka's Topic.validate message, or nullopt for a legal name.
std::optional<std::string> invalid_topic_name(std::string_view name);

// The BROKER_LOGGER view: Samsa has one level for all its loggers, shown
// as log4j's root logger. Levels are Kafka's (FATAL ... TRACE).
std::string root_log_level(const BrokerServices& services);
bool set_root_log_level(const std::string& level);  // false: not a valid level

// DescribeConfigs ConfigType id of a broker key type (UNKNOWN = 0).
int8_t config_type_id(const std::string& broker_key);

// One DescribeConfigs entry, independent of the response struct.
struct DescribedConfig {
  std::string name;
  std::optional<std::string> value;
  ConfigSourceId source = ConfigSourceId::kDefault;
  int8_t type = 0;
  bool read_only = false;
  bool is_sensitive = false;
  std::vector<ConfigSynonymEntry> synonyms;
};

// Every config of a topic (Kafka's ConfigHelper for TOPIC resources).
std::vector<DescribedConfig> describe_topic(const BrokerServices& services, const MetadataImage& image,
                                            const std::string& topic);
// This broker's configs (resource name = node id) or, with per_broker false,
// the cluster-wide dynamic defaults (resource name "").
std::vector<DescribedConfig> describe_broker(const BrokerServices& services, const MetadataImage& image,
                                             bool per_broker);

}  // namespace samsa::broker::admin
