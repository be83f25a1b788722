// CreatePartitions (Kafka's ReplicationControlManager#createPartitions).
#include <map>
#include <set>

#include "controller_internal.h"

namespace samsa::broker::metadata {

using protocol::ErrorCode;

namespace {

ApiError create_for_topic(const MetadataImage& image, const CreatePartitionsTopic& req, ReplicaPlacer& placer,
                          std::vector<RecordAndVersion>& records) {
  const TopicImage* topic = image.topic(req.name);
  if (topic == nullptr) return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition."};
  int32_t current = static_cast<int32_t>(topic->partitions.size());
  if (req.count == current)
    return {ErrorCode::INVALID_PARTITIONS, "Topic already has " + std::to_string(current) + " partition(s)."};
  if (req.count < current)
    return {ErrorCode::INVALID_PARTITIONS, "The topic " + req.name + " currently has " + std::to_string(current) +
                                               " partition(s); " + std::to_string(req.count) +
                                               " would not be an increase."};
  int32_t additional = req.count - current;
  if (req.assignments && static_cast<int32_t>(req.assignments->size()) != additional)
    return {ErrorCode::INVALID_REPLICA_ASSIGNMENT,
            "Attempted to add " + std::to_string(additional) + " additional partition(s), but only " +
                std::to_string(req.assignments->size()) + " assignment(s) were specified."};
  if (topic->partitions.empty())
    return {ErrorCode::UNKNOWN_SERVER_ERROR, "Invalid state: topic " + req.name + " appears to have no partitions."};
  size_t rf = topic->partitions.begin()->second.replicas.size();

  Assignment assignment;
  if (req.assignments) {
    for (size_t i = 0; i < req.assignments->size(); ++i) {
      const auto& replicas = (*req.assignments)[i];
      if (auto e = detail::check_manual_assignment(image, replicas, rf)) return *e;
      if (detail::active_replicas(image, replicas).empty())
        return {ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                "All brokers specified in the manual partition assignment for partition " +
                    std::to_string(current + static_cast<int32_t>(i)) + " are fenced or in controlled shutdown."};
      assignment.push_back(replicas);
    }
  } else {
    auto placed = placer.place(image, additional, static_cast<int32_t>(rf));
    if (auto* e = std::get_if<ApiError>(&placed)) return *e;
    assignment = std::move(std::get<Assignment>(placed));
  }
  std::vector<RecordAndVersion> out;
  int32_t partition = current;
  for (const auto& replicas : assignment) {
    auto isr = detail::active_replicas(image, replicas);
    if (isr.empty())
      return {ErrorCode::INVALID_REPLICATION_FACTOR,
              "Unable to replicate the partition " + std::to_string(rf) +
                  " time(s): All brokers are currently fenced or in controlled shutdown."};
    out.push_back(detail::new_partition_record(image, topic->id, partition++, replicas, isr));
  }
  for (auto& r : out) records.push_back(std::move(r));
  return ApiError::none();
}

}  // namespace

CreatePartitionsResult create_partitions(const MetadataImage& image, std::span<const CreatePartitionsTopic> topics,
                                         bool validate_only, ReplicaPlacer& placer) {
  CreatePartitionsResult out;
  std::map<std::string, int, std::less<>> seen;
  for (const auto& t : topics) ++seen[t.name];
  std::set<std::string, std::less<>> reported;
  for (const CreatePartitionsTopic& t : topics) {
    if (!reported.insert(t.name).second) continue;
    ApiError e = seen[t.name] > 1 ? ApiError{ErrorCode::INVALID_REQUEST, "Duplicate topic name."}
                                  : create_for_topic(image, t, placer, out.records);
    out.topics.push_back({t.name, std::move(e)});
  }
  if (validate_only) out.records.clear();
  return out;
}

}  // namespace samsa::broker::metadata
