// OffsetForLeaderEpoch (key 23), versions 0-4 as Kafka 4.0 serves them
// (KafkaApis.handleOffsetForLeaderEpochRequest, Partition
// .lastOffsetForLeaderEpoch): for each partition, the largest leader epoch
// <= the requested one and the offset where it ends in this broker's log
// (the log end for the latest epoch). Followers use it to find where their
// log diverges from the leader's when a fetch cannot tell them (Fetch < v12).

#include "samsa/broker/broker_services.h"
#include "samsa/broker/fetch/partition_access.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/offset_for_leader_epoch_request.h"
#include "samsa/protocol/gen/offset_for_leader_epoch_response.h"

namespace samsa::broker {

using protocol::ErrorCode;
using protocol::OffsetForLeaderEpochRequest;
using protocol::OffsetForLeaderEpochResponse;
using EpochEndOffset = OffsetForLeaderEpochResponse::OffsetForLeaderTopicResult::EpochEndOffset;

namespace {

EpochEndOffset answer(int32_t partition, ErrorCode e, int32_t epoch = -1, int64_t end_offset = -1) {
  EpochEndOffset out;
  out.partition = partition;
  out.error_code = protocol::code(e);
  out.leader_epoch = epoch;
  out.end_offset = end_offset;
  return out;
}

EpochEndOffset end_offset_for(const BrokerServices& services, const MetadataImage& image, const std::string& topic,
                              const OffsetForLeaderEpochRequest::OffsetForLeaderTopic::OffsetForLeaderPartition& p) {
  // Only the leader answers (Kafka's fetchOnlyFromLeader; a "debugging"
  // replica id -2 may read a follower in Kafka, and every partition this
  // lookup finds is led here).
  auto found = lookup_leader_partition(services, image, topic, p.partition, p.current_leader_epoch);
  if (found.error != ErrorCode::NONE) return answer(p.partition, found.error);
  auto& log = *found.partition->log();
  // (-1, -1): no epoch at or below the requested one is known, which
  // Kafka answers as NONE with undefined epoch and offset.
  auto [epoch, end] = log.leader_epoch_cache().end_offset_for(p.leader_epoch, log.log_end_offset());
  return answer(p.partition, ErrorCode::NONE, epoch, end);
}

}  // namespace

void handle_offset_for_leader_epoch(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto req = decode_request<OffsetForLeaderEpochRequest>(body, ctx.api_version);
  auto image = ctx.services->metadata.current();
  OffsetForLeaderEpochResponse response;
  for (const auto& t : req.topics) {
    auto& tr = response.topics.emplace_back();
    tr.topic = t.topic;
    for (const auto& p : t.partitions) tr.partitions.push_back(end_offset_for(*ctx.services, *image, t.topic, p));
  }
  responder.send(response);
}

}  // namespace samsa::broker
