// DescribeProducers (key 61): the idempotent producer state of each named
// partition, as KafkaApis.handleDescribeProducersRequest and
// UnifiedLog.activeProducers answer it.
#include "samsa/broker/broker_services.h"
#include "samsa/broker/fetch/partition_access.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/describe_producers_request.h"
#include "samsa/protocol/gen/describe_producers_response.h"

namespace samsa::broker {

using protocol::DescribeProducersRequest;
using protocol::DescribeProducersResponse;
using protocol::ErrorCode;
using PartitionResponse = DescribeProducersResponse::TopicResponse::PartitionResponse;

namespace {

PartitionResponse describe_partition(const BrokerServices& services, const MetadataImage& image,
                                     const std::string& topic, int32_t index) {
  PartitionResponse p;
  p.partition_index = index;
  auto found = lookup_leader_partition(services, image, topic, index);
  if (found.error != ErrorCode::NONE) {
    p.error_code = protocol::code(found.error);
    return p;
  }
  for (const auto& e : found.partition->log()->active_producers()) {
    auto& s = p.active_producers.emplace_back();
    s.producer_id = e.producer_id;
    s.producer_epoch = e.producer_epoch;
    s.last_sequence = e.last_seq();
    s.last_timestamp = e.last_timestamp;
    s.coordinator_epoch = e.coordinator_epoch;
    s.current_txn_start_offset = e.current_txn_first_offset;
  }
  return p;
}

}  // namespace

void handle_describe_producers(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<DescribeProducersRequest>(body, ctx.api_version);
  auto image = ctx.services->metadata.current();
  DescribeProducersResponse response;
  for (const auto& t : request.topics) {
    auto& tr = response.topics.emplace_back();
    tr.name = t.name;
    for (int32_t index : t.partition_indexes) tr.partitions.push_back(describe_partition(*ctx.services, *image, t.name, index));
  }
  responder.send(response);
}

}  // namespace samsa::broker
