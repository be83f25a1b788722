// DescribeTopicPartitions (key 75, KIP-966): topics (all when none are
// named) in name order, with paging: at most response_partition_limit
// partitions per response and a cursor to continue from (Kafka's
// DescribeTopicPartitionsRequestHandler and
// KRaftMetadataCache#describeTopicResponse).
#include <algorithm>
#include <set>

#include "config_resources.h"
#include "samsa/broker/authorized_operations.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/describe_topic_partitions_request.h"
#include "samsa/protocol/gen/describe_topic_partitions_response.h"

namespace samsa::broker {

using protocol::DescribeTopicPartitionsRequest;
using protocol::DescribeTopicPartitionsResponse;
using protocol::ErrorCode;
using Topic = DescribeTopicPartitionsResponse::DescribeTopicPartitionsResponseTopic;
using Partition = Topic::DescribeTopicPartitionsResponsePartition;

namespace {

constexpr int32_t kMaxRequestPartitionSizeLimit = 2000;  // max.request.partition.size.limit
constexpr int32_t kNoLeader = -1;

bool replica_offline(const MetadataImage& image, int32_t id, const std::string& listener) {
  auto it = image.brokers.find(id);
  return it == image.brokers.end() || it->second.fenced || it->second.endpoint(listener) == nullptr;
}

Partition describe_partition(const MetadataImage& image, const PartitionImage& p, const std::string& listener) {
  Partition out;
  out.partition_index = p.partition_id;
  auto leader = image.brokers.find(p.leader);
  bool leader_alive = leader != image.brokers.end() && leader->second.endpoint(listener) != nullptr;
  out.leader_id = leader_alive ? p.leader : kNoLeader;
  out.leader_epoch = p.leader_epoch;
  out.replica_nodes = p.replicas;
  out.isr_nodes = p.isr;
  out.eligible_leader_replicas = p.eligible_leader_replicas;
  out.last_known_elr = p.last_known_elr;
  for (int32_t r : p.replicas)
    if (replica_offline(image, r, listener)) out.offline_replicas.push_back(r);
  return out;
}

Topic topic_error(const std::string& name, ErrorCode code) {
  Topic t;
  t.name = name;
  t.error_code = protocol::code(code);
  t.is_internal = is_internal_topic(name);
  return t;
}

}  // namespace

void handle_describe_topic_partitions(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<DescribeTopicPartitionsRequest>(body, ctx.api_version);
  auto image = ctx.services->metadata.current();
  const std::string& listener = ctx.connection->listener_name;

  std::set<std::string> requested;
  for (const auto& t : request.topics) requested.insert(t.name);
  bool all = requested.empty();
  std::string start_topic;
  int32_t start_partition = 0;
  if (request.cursor) {
    start_topic = request.cursor->topic_name;
    start_partition = request.cursor->partition_index;
    if (!all && !requested.contains(start_topic)) {
      // Kafka answers an InvalidRequestException with its error response.
      DescribeTopicPartitionsResponse error;
      for (const auto& t : request.topics) {
        Topic e = topic_error(t.name, ErrorCode::INVALID_REQUEST);
        e.is_internal = false;
        error.topics.push_back(std::move(e));
      }
      responder.send(error);
      return;
    }
  }

  std::vector<std::string> names;
  if (all)
    for (const auto& [name, topic] : image->topics->by_name) names.push_back(name);
  else
    names.assign(requested.begin(), requested.end());
  std::erase_if(names, [&](const std::string& n) { return n < start_topic; });

  int32_t remaining = std::max(std::min(kMaxRequestPartitionSizeLimit, request.response_partition_limit), 1);
  DescribeTopicPartitionsResponse response;
  for (const std::string& name : names) {
    if (remaining == 0) {
      response.next_cursor.emplace();
      response.next_cursor->topic_name = name;
      response.next_cursor->partition_index = 0;
      break;
    }
    const TopicImage* topic = image->topic(name);
    if (topic == nullptr) {
      if (!all)
        response.topics.push_back(topic_error(name, admin::invalid_topic_name(name)
                                                        ? ErrorCode::INVALID_TOPIC_EXCEPTION
                                                        : ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
      continue;
    }
    Topic t;
    t.name = name;
    t.topic_id = topic->id;
    t.is_internal = is_internal_topic(name);
    int32_t first = name == start_topic ? start_partition : 0;
    int32_t size = static_cast<int32_t>(topic->partitions.size());
    int32_t upper = std::min<int64_t>(size, int64_t{first} + remaining);
    for (int32_t id = first; id < upper; ++id)
      if (const PartitionImage* p = topic->partition(id))
        t.partitions.push_back(describe_partition(*image, *p, listener));
    remaining -= static_cast<int32_t>(t.partitions.size());
    response.topics.push_back(std::move(t));
    if (upper < size) {
      response.next_cursor.emplace();
      response.next_cursor->topic_name = name;
      response.next_cursor->partition_index = upper;
      break;
    }
  }
  // Kafka sets the authorized operations on every topic of the response.
  for (auto& t : response.topics) t.topic_authorized_operations = kTopicOperations;
  responder.send(response);
}

}  // namespace samsa::broker
