// CreateTopics and DeleteTopics (Kafka's ReplicationControlManager and ControllerApis).
#include <algorithm>
#include <map>
#include <set>

#include "controller_internal.h"
#include "samsa/broker/broker_config.h"

namespace samsa::broker::metadata {

using protocol::ErrorCode;

namespace {

constexpr std::string_view kClusterMetadataTopic = "__cluster_metadata";

std::string collision_key(std::string_view name) {
  std::string s(name);
  std::replace(s.begin(), s.end(), '.', '_');
  return s;
}

bool has_collision_chars(std::string_view name) { return name.find_first_of("._") != std::string_view::npos; }

// Builds the records of one valid-so-far topic, or the error that stops it.
ApiError create_one(const MetadataImage& image, const CreatableTopic& topic, const ControllerDefaults& defaults,
                    ReplicaPlacer& placer, std::vector<RecordAndVersion>& records, CreatableTopicResult& result) {
  // Configs first, as Kafka computes them before placing replicas.
  std::vector<AlterableConfig> sets;
  std::vector<std::string> null_configs;
  for (const auto& [name, value] : topic.configs) {
    if (!value) null_configs.push_back(name);
    else sets.push_back(AlterableConfig{name, AlterConfigOp::kSet, value});
  }
  if (!null_configs.empty()) {
    std::string names;
    for (const auto& n : null_configs) names += (names.empty() ? "" : ",") + n;
    return {ErrorCode::INVALID_CONFIG, "Null value not supported for topic configs: " + names};
  }
  std::vector<RecordAndVersion> config_records;
  if (!sets.empty()) {
    ApiError e = detail::alter_resource_configs(image, {ConfigResourceType::kTopic, topic.name}, sets, true, true,
                                                defaults, config_records);
    if (!e.ok()) return e;
  }

  std::map<int32_t, std::pair<std::vector<int32_t>, std::vector<int32_t>>> parts;  // id -> (replicas, isr)
  if (!topic.assignments.empty()) {
    if (topic.replication_factor != -1)
      return {ErrorCode::INVALID_REQUEST,
              "A manual partition assignment was specified, but replication factor was not set to -1."};
    if (topic.num_partitions != -1)
      return {ErrorCode::INVALID_REQUEST,
              "A manual partition assignment was specified, but numPartitions was not set to -1."};
    std::optional<size_t> rf;
    for (const auto& a : topic.assignments) {
      if (parts.contains(a.partition_index))
        return {ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                "Found multiple manual partition assignments for partition " + std::to_string(a.partition_index)};
      if (auto e = detail::check_manual_assignment(image, a.broker_ids, rf)) return *e;
      rf = a.broker_ids.size();
      auto isr = detail::active_replicas(image, a.broker_ids);
      if (isr.empty())
        return {ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                "All brokers specified in the manual partition assignment for partition " +
                    std::to_string(a.partition_index) + " are fenced or in controlled shutdown."};
      parts[a.partition_index] = {a.broker_ids, std::move(isr)};
    }
    for (int32_t i = 0; i < static_cast<int32_t>(parts.size()); ++i)
      if (!parts.contains(i))
        return {ErrorCode::INVALID_REPLICA_ASSIGNMENT, "partitions should be a consecutive 0-based integer sequence"};
  } else if (topic.replication_factor < -1 || topic.replication_factor == 0) {
    return {ErrorCode::INVALID_REPLICATION_FACTOR,
            "Replication factor must be larger than 0, or -1 to use the default value."};
  } else if (topic.num_partitions < -1 || topic.num_partitions == 0) {
    return {ErrorCode::INVALID_PARTITIONS, "Number of partitions was set to an invalid non-positive value."};
  } else {
    int32_t count = topic.num_partitions == -1 ? defaults.num_partitions : topic.num_partitions;
    int32_t rf = topic.replication_factor == -1 ? defaults.default_replication_factor : topic.replication_factor;
    auto placed = placer.place(image, count, rf);
    if (auto* e = std::get_if<ApiError>(&placed)) return *e;
    const Assignment& assignment = std::get<Assignment>(placed);
    for (int32_t p = 0; p < static_cast<int32_t>(assignment.size()); ++p) {
      auto isr = detail::active_replicas(image, assignment[p]);
      if (isr.empty())
        return {ErrorCode::INVALID_REPLICATION_FACTOR,
                "Unable to replicate the partition " + std::to_string(rf) +
                    " time(s): All brokers are currently fenced or in controlled shutdown."};
      parts[p] = {assignment[p], std::move(isr)};
    }
  }

  result.topic_id = protocol::Uuid::random();
  result.num_partitions = static_cast<int32_t>(parts.size());
  result.replication_factor = static_cast<int16_t>(parts.begin()->second.first.size());
  protocol::TopicRecord topic_record;
  topic_record.name = topic.name;
  topic_record.topic_id = result.topic_id;
  records.push_back({std::move(topic_record), 0});
  // ConfigRecords go after the TopicRecord and before the PartitionRecords.
  for (auto& r : config_records) records.push_back(std::move(r));
  for (const auto& [id, replicas_isr] : parts)
    records.push_back(detail::new_partition_record(image, result.topic_id, id, replicas_isr.first, replicas_isr.second));
  return ApiError::none();
}

}  // namespace

ControllerDefaults controller_defaults(const BrokerConfig& config) {
  ControllerDefaults d;
  d.num_partitions = config.num_partitions;
  d.default_replication_factor = static_cast<int16_t>(config.default_replication_factor);
  d.delete_topic_enable = config.delete_topic_enable;
  d.node_id = config.node_id;
  d.static_broker_config = static_broker_layer(config);
  return d;
}

BrokerConfigLayers controller_config_layers(const MetadataImage& image, const ControllerDefaults& defaults) {
  BrokerConfigLayers layers;
  if (const ConfigMap* m = image.config(ConfigResourceType::kBroker, std::to_string(defaults.node_id)))
    layers.dynamic_broker = *m;
  if (const ConfigMap* m = image.config(ConfigResourceType::kBroker, "")) layers.dynamic_default = *m;
  layers.static_broker = defaults.static_broker_config;
  return layers;
}

CreateTopicsResult create_topics(const MetadataImage& image, std::span<const CreatableTopic> topics, bool validate_only,
                                 const ControllerDefaults& defaults, ReplicaPlacer& placer) {
  CreateTopicsResult out;
  std::map<std::string, int, std::less<>> seen;
  for (const auto& t : topics) ++seen[t.name];
  // Existing names with '.' or '_', by their collision key.
  std::map<std::string, std::string> colliding;
  for (const auto& [name, topic] : image.topics->by_name)
    if (has_collision_chars(name)) colliding.emplace(collision_key(name), name);

  std::set<std::string, std::less<>> reported;
  for (const CreatableTopic& topic : topics) {
    if (!reported.insert(topic.name).second) continue;
    CreatableTopicResult result;
    result.name = topic.name;
    if (seen[topic.name] > 1) {
      result.error = {ErrorCode::INVALID_REQUEST, "Duplicate topic name."};
    } else if (topic.name == kClusterMetadataTopic) {
      result.error = {ErrorCode::INVALID_REQUEST,
                      "Creation of internal topic " + std::string(kClusterMetadataTopic) + " is prohibited."};
    } else if (image.topic(topic.name) != nullptr) {
      result.error = {ErrorCode::TOPIC_ALREADY_EXISTS, "Topic '" + topic.name + "' already exists."};
    } else if (auto why = detail::invalid_topic_name(topic.name)) {
      result.error = {ErrorCode::INVALID_TOPIC_EXCEPTION, *why};
    } else if (auto it = colliding.find(collision_key(topic.name));
               has_collision_chars(topic.name) && it != colliding.end()) {
      result.error = {ErrorCode::INVALID_TOPIC_EXCEPTION,
                      "Topic '" + topic.name + "' collides with existing topic: " + it->second};
    } else {
      std::vector<RecordAndVersion> records;
      result.error = create_one(image, topic, defaults, placer, records, result);
      if (result.error.ok())
        for (auto& r : records) out.records.push_back(std::move(r));
    }
    if (!result.error.ok()) {
      result.topic_id = protocol::Uuid::zero();
      result.num_partitions = -1;
      result.replication_factor = -1;
    }
    out.topics.push_back(std::move(result));
  }
  if (validate_only) out.records.clear();
  return out;
}

DeleteTopicsResult delete_topics(const MetadataImage& image, std::span<const DeleteTopicRef> refs,
                                 const ControllerDefaults& defaults, int16_t api_version) {
  DeleteTopicsResult out;
  if (!defaults.delete_topic_enable) {
    ApiError e = api_version < 3 ? ApiError{ErrorCode::INVALID_REQUEST, "Topic deletion is disabled."}
                                 : ApiError{ErrorCode::TOPIC_DELETION_DISABLED, "Topic deletion is disabled."};
    for (const auto& r : refs) out.topics.push_back({r.name, r.id, e});
    return out;
  }
  std::map<std::string, int, std::less<>> name_count;
  std::map<protocol::Uuid, int, UuidLess> id_count;
  for (const auto& r : refs) {
    if (r.name && r.id.is_zero()) ++name_count[*r.name];
    else if (!r.name && !r.id.is_zero()) ++id_count[r.id];
  }
  std::set<protocol::Uuid, UuidLess> deleting;
  std::set<std::string, std::less<>> reported_names;
  std::set<protocol::Uuid, UuidLess> reported_ids;
  for (const auto& r : refs) {
    DeletableTopicResult res{r.name, r.id, {}};
    const TopicImage* topic = nullptr;
    if (!r.name && r.id.is_zero()) {
      res.error = {ErrorCode::INVALID_REQUEST, "Neither topic name nor id were specified."};
    } else if (r.name && !r.id.is_zero()) {
      res.error = {ErrorCode::INVALID_REQUEST, "You may not specify both topic name and topic id."};
    } else if (r.name) {
      if (!reported_names.insert(*r.name).second) continue;
      if (name_count[*r.name] > 1) res.error = {ErrorCode::INVALID_REQUEST, "Duplicate topic name."};
      else if (!(topic = image.topic(*r.name))) res.error = {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                                                            "This server does not host this topic-partition."};
    } else {
      if (!reported_ids.insert(r.id).second) continue;
      if (id_count[r.id] > 1) res.error = {ErrorCode::INVALID_REQUEST, "Duplicate topic id."};
      else if (!(topic = image.topic(r.id))) res.error = {ErrorCode::UNKNOWN_TOPIC_ID,
                                                         "This server does not host this topic ID."};
    }
    if (topic != nullptr) {
      res.name = topic->name;
      res.topic_id = topic->id;
      if (!deleting.insert(topic->id).second)
        res.error = {ErrorCode::INVALID_REQUEST, "The provided topic name maps to an ID that was already supplied."};
      else
        {
        protocol::RemoveTopicRecord remove;
        remove.topic_id = topic->id;
        out.records.push_back({remove, 0});
      }
    }
    out.topics.push_back(std::move(res));
  }
  return out;
}

}  // namespace samsa::broker::metadata
