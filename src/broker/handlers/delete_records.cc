// DeleteRecords (key 21): moves the log start offset of partitions this
// broker leads (Kafka's ReplicaManager#deleteRecordsOnLocalLog). Offset -1
// means the high watermark; an offset past it is OFFSET_OUT_OF_RANGE. The
// answer is the new low watermark; with one replica there is nothing to wait
// for.
#include "config_resources.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/replica/replica_manager.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/delete_records_request.h"
#include "samsa/protocol/gen/delete_records_response.h"

namespace samsa::broker {

using protocol::DeleteRecordsRequest;
using protocol::DeleteRecordsResponse;
using protocol::ErrorCode;
using PartitionResult = DeleteRecordsResponse::DeleteRecordsTopicResult::DeleteRecordsPartitionResult;

namespace {

constexpr int64_t kHighWatermark = -1;
constexpr int64_t kInvalidLowWatermark = -1;

// Returns {error, low watermark}.
std::pair<ErrorCode, int64_t> delete_before(const RequestContext& ctx, const MetadataImage& image,
                                            const std::string& topic, int32_t partition, int64_t offset) {
  const TopicImage* t = image.topic(topic);
  const PartitionImage* p = t ? t->partition(partition) : nullptr;
  if (p == nullptr) return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, kInvalidLowWatermark};
  if (is_internal_topic(topic)) return {ErrorCode::INVALID_TOPIC_EXCEPTION, kInvalidLowWatermark};
  ReplicaManager* partitions = ctx.services->replicas;
  auto hosted = partitions ? partitions->get(topic, partition) : nullptr;
  if (!hosted) return {ErrorCode::NOT_LEADER_OR_FOLLOWER, kInvalidLowWatermark};
  if (ErrorCode e = hosted->check_epoch(-1, true); e != ErrorCode::NONE) return {e, kInvalidLowWatermark};
  const std::shared_ptr<log::Log>& log = hosted->log();
  if (!log->config().delete_enabled()) return {ErrorCode::POLICY_VIOLATION, kInvalidLowWatermark};
  if (offset == kHighWatermark) offset = log->high_watermark();
  if (offset < 0) return {ErrorCode::OFFSET_OUT_OF_RANGE, kInvalidLowWatermark};
  auto result = partitions->logs().delete_records(topic, partition, offset);
  if (result.ok()) return {ErrorCode::NONE, result.value()};
  switch (result.error().code) {
    case log::LogErrc::kOffsetOutOfRange: return {ErrorCode::OFFSET_OUT_OF_RANGE, kInvalidLowWatermark};
    case log::LogErrc::kLogClosed: return {ErrorCode::NOT_LEADER_OR_FOLLOWER, kInvalidLowWatermark};
    default: return {ErrorCode::KAFKA_STORAGE_ERROR, kInvalidLowWatermark};
  }
}

}  // namespace

void handle_delete_records(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<DeleteRecordsRequest>(body, ctx.api_version);
  auto image = ctx.services->metadata.current();

  DeleteRecordsResponse response;
  for (const auto& t : request.topics) {
    DeleteRecordsResponse::DeleteRecordsTopicResult topic;
    topic.name = t.name;
    for (const auto& p : t.partitions) {
      auto [error, low] = delete_before(ctx, *image, t.name, p.partition_index, p.offset);
      PartitionResult r;
      r.partition_index = p.partition_index;
      r.error_code = protocol::code(error);
      r.low_watermark = low;
      topic.partitions.push_back(r);
    }
    response.topics.push_back(std::move(topic));
  }
  responder.send(response);
}

}  // namespace samsa::broker
