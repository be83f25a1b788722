// DeleteRecords (key 21): moves the log start offset of partitions this
// broker leads (Kafka's ReplicaManager#deleteRecordsOnLocalLog). Offset -1
// means the high watermark; an offset past it is OFFSET_OUT_OF_RANGE. Then,
// as Kafka's DelayedDeleteRecords, the answer waits until every replica on
// a live broker has moved its log start that far too (followers take the
// leader's log start from their fetches and report theirs back), or until
// timeout_ms (REQUEST_TIMED_OUT). The answer's low watermark is the lowest
// log start of those replicas.
#include "config_resources.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/fetch/fetch_waiters.h"
#include "samsa/broker/replica/delayed_operation.h"
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

struct LocalDelete {
  ErrorCode error = ErrorCode::NONE;
  int64_t required_offset = -1;  // what every replica's log start must reach
  std::shared_ptr<replica::Partition> partition = nullptr;
};

LocalDelete delete_before(const RequestContext& ctx, const MetadataImage& image, const std::string& topic,
                          int32_t partition, int64_t offset) {
  const TopicImage* t = image.topic(topic);
  const PartitionImage* p = t ? t->partition(partition) : nullptr;
  if (p == nullptr) return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION};
  if (is_internal_topic(topic)) return {ErrorCode::INVALID_TOPIC_EXCEPTION};
  ReplicaManager* partitions = ctx.services->replicas;
  auto hosted = partitions ? partitions->get(topic, partition) : nullptr;
  if (!hosted) return {ErrorCode::NOT_LEADER_OR_FOLLOWER};
  if (ErrorCode e = hosted->check_epoch(-1, true); e != ErrorCode::NONE) return {e};
  const std::shared_ptr<log::Log>& log = hosted->log();
  if (!log->config().delete_enabled()) return {ErrorCode::POLICY_VIOLATION};
  if (offset == kHighWatermark) offset = log->high_watermark();
  if (offset < 0) return {ErrorCode::OFFSET_OUT_OF_RANGE};
  auto result = partitions->logs().delete_records(topic, partition, offset);
  if (result.ok()) return {ErrorCode::NONE, offset, std::move(hosted)};
  switch (result.error().code) {
    case log::LogErrc::kOffsetOutOfRange: return {ErrorCode::OFFSET_OUT_OF_RANGE};
    case log::LogErrc::kLogClosed: return {ErrorCode::NOT_LEADER_OR_FOLLOWER};
    default: return {ErrorCode::KAFKA_STORAGE_ERROR};
  }
}

}  // namespace

void handle_delete_records(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<DeleteRecordsRequest>(body, ctx.api_version);
  auto image = ctx.services->metadata.current();

  auto response = std::make_shared<DeleteRecordsResponse>();
  std::vector<replica::DelayedCheck> checks;
  std::vector<std::pair<PartitionResult*, std::shared_ptr<replica::Partition>>> waiting;
  response->topics.reserve(request.topics.size());
  for (const auto& t : request.topics) {
    auto& topic = response->topics.emplace_back();
    topic.name = t.name;
    topic.partitions.reserve(t.partitions.size());
    for (const auto& p : t.partitions) {
      LocalDelete d = delete_before(ctx, *image, t.name, p.partition_index, p.offset);
      auto& r = topic.partitions.emplace_back();
      r.partition_index = p.partition_index;
      r.error_code = protocol::code(d.error);
      r.low_watermark = kInvalidLowWatermark;
      if (d.error != ErrorCode::NONE) continue;
      auto partition = d.partition;
      const int64_t required = d.required_offset;
      checks.push_back({t.name, p.partition_index, [partition, required]() -> std::optional<ErrorCode> {
                          if (partition->role() != replica::Role::kLeader) return ErrorCode::NOT_LEADER_OR_FOLLOWER;
                          if (partition->low_watermark() >= required) return ErrorCode::NONE;
                          return std::nullopt;
                        }});
      waiting.emplace_back(&r, std::move(partition));
    }
  }
  // `response` is not resized from here on: the pointers in `waiting` stay valid.
  replica::await_checks(fetch_waiters(ctx.services), ctx.services->scheduler, std::move(checks),
                        request.timeout_ms,
                        [response, waiting = std::move(waiting), responder](std::vector<ErrorCode> errors) mutable {
                          for (size_t i = 0; i < waiting.size(); ++i) {
                            auto& [r, partition] = waiting[i];
                            r->error_code = protocol::code(errors[i]);
                            r->low_watermark = errors[i] == ErrorCode::NOT_LEADER_OR_FOLLOWER
                                                   ? kInvalidLowWatermark
                                                   : partition->low_watermark();
                          }
                          responder.send(*response);
                        });
}

}  // namespace samsa::broker
