// ListOffsets (key 2), versions 1-10 (v0 was removed in Kafka 4.0, KIP-896),
// as Kafka 4.0's KafkaApis.handleListOffsetRequest, Partition
// .fetchOffsetForTimestamp and UnifiedLog.fetchOffsetByTimestamp answer it.
#include <set>

#include "samsa/broker/broker_services.h"
#include "samsa/broker/fetch/partition_access.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/list_offsets_request.h"
#include "samsa/protocol/gen/list_offsets_response.h"

namespace samsa::broker {

using protocol::ErrorCode;
using protocol::ListOffsetsRequest;
using protocol::ListOffsetsResponse;
using PartitionResponse = ListOffsetsResponse::ListOffsetsTopicResponse::ListOffsetsPartitionResponse;

namespace {

constexpr int64_t kLatest = -1;
constexpr int64_t kEarliest = -2;
constexpr int64_t kMaxTimestamp = -3;
constexpr int64_t kEarliestLocal = -4;
constexpr int64_t kLatestTiered = -5;
constexpr int32_t kConsumerReplicaId = -1;
constexpr int8_t kReadCommitted = 1;

PartitionResponse answer(int32_t index, ErrorCode e, int64_t timestamp = -1, int64_t offset = -1, int32_t epoch = -1) {
  PartitionResponse p;
  p.partition_index = index;
  p.error_code = protocol::code(e);
  p.timestamp = timestamp;
  p.offset = offset;
  p.leader_epoch = epoch;
  return p;
}

PartitionResponse list_offset(const BrokerServices& services, const MetadataImage& image, const std::string& topic,
                              const ListOffsetsRequest::ListOffsetsTopic::ListOffsetsPartition& p,
                              const ListOffsetsRequest& req) {
  const bool from_consumer = req.replica_id == kConsumerReplicaId;
  // (replica id -2, "debugging", may read a follower in Kafka; answered by
  // the leader only here.)
  auto found = lookup_leader_partition(services, image, topic, p.partition_index, p.current_leader_epoch);
  if (found.error != ErrorCode::NONE) return answer(p.partition_index, found.error);
  const replica::Partition& partition = *found.partition;
  auto& log = *partition.log();

  // What the asker may fetch: a consumer up to the high watermark, a
  // read_committed one up to the last stable offset (Kafka's
  // fetchOffsetForTimestamp with its isolation level).
  const bool committed = req.isolation_level == kReadCommitted;
  const int64_t last_fetchable =
      !from_consumer ? log.log_end_offset() : committed ? log.last_stable_offset() : log.high_watermark();
  switch (p.timestamp) {
    case kLatest:
      return answer(p.partition_index, ErrorCode::NONE, -1, last_fetchable, partition.leader_epoch());
    case kEarliest:
    case kEarliestLocal: {
      int64_t start = log.log_start_offset();
      return answer(p.partition_index, ErrorCode::NONE, -1, start, epoch_for_offset(log, start));
    }
    case kLatestTiered:  // no tiered storage: Kafka answers offset -1, epoch -1
      return answer(p.partition_index, ErrorCode::NONE, -1, -1, -1);
    case kMaxTimestamp: {
      auto m = log.max_timestamp_and_offset();
      if (m.offset < 0) return answer(p.partition_index, ErrorCode::NONE, -1, -1, -1);
      return answer(p.partition_index, ErrorCode::NONE, m.timestamp, m.offset, epoch_for_offset(log, m.offset));
    }
    default: {
      auto found_ts = log.offset_for_timestamp(p.timestamp);
      if (!found_ts || (from_consumer && found_ts->offset >= last_fetchable))
        return answer(p.partition_index, ErrorCode::NONE, -1, -1, -1);
      return answer(p.partition_index, ErrorCode::NONE, found_ts->timestamp, found_ts->offset,
                    epoch_for_offset(log, found_ts->offset));
    }
  }
}

}  // namespace

void handle_list_offsets(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto req = decode_request<ListOffsetsRequest>(body, ctx.api_version);
  auto image = ctx.services->metadata.current();

  std::set<std::pair<std::string, int32_t>> seen, duplicates;
  for (const auto& t : req.topics)
    for (const auto& p : t.partitions)
      if (!seen.emplace(t.name, p.partition_index).second) duplicates.emplace(t.name, p.partition_index);

  ListOffsetsResponse response;
  for (const auto& t : req.topics) {
    auto& tr = response.topics.emplace_back();
    tr.name = t.name;
    for (const auto& p : t.partitions) {
      if (duplicates.count({t.name, p.partition_index}))
        tr.partitions.push_back(answer(p.partition_index, ErrorCode::INVALID_REQUEST));
      else
        tr.partitions.push_back(list_offset(*ctx.services, *image, t.name, p, req));
    }
  }
  responder.send(response);
}

}  // namespace samsa::broker
