// OffsetDelete (key 47): removes committed offsets of a group, except for
// topics its active members subscribe to (GROUP_SUBSCRIBED_TO_TOPIC).
#include "samsa/broker/group/group_handlers_support.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/offset_delete_request.h"
#include "samsa/protocol/gen/offset_delete_response.h"

namespace samsa::broker {

void handle_offset_delete(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<protocol::OffsetDeleteRequest>(body, ctx.api_version);
  std::vector<group::TopicPartitions> topics;
  for (const auto& t : request.topics) {
    auto& tp = topics.emplace_back(group::TopicPartitions{t.name, {}});
    for (const auto& p : t.partitions) tp.partitions.push_back(p.partition_index);
  }
  auto answer = [request, responder](protocol::ErrorCode error, std::vector<protocol::ErrorCode> errors) mutable {
    protocol::OffsetDeleteResponse response;
    response.error_code = protocol::code(error);
    if (error == protocol::ErrorCode::NONE) {
      size_t i = 0;
      for (const auto& t : request.topics) {
        auto& rt = response.topics.emplace_back();
        rt.name = t.name;
        for (const auto& p : t.partitions) {
          auto& rp = rt.partitions.emplace_back();
          rp.partition_index = p.partition_index;
          rp.error_code = protocol::code(errors[i++]);
        }
      }
    }
    responder.send(response);
  };
  auto* groups = group::coordinator(ctx);
  if (!groups) return answer(protocol::ErrorCode::COORDINATOR_NOT_AVAILABLE, {});
  groups->delete_offsets(request.group_id, topics, std::move(answer));
}

}  // namespace samsa::broker
