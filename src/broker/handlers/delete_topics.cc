// DeleteTopics (key 20): topics by name (v0-v5 topic_names, v6 topics with
// a name) or by id (v6); the controller writes one RemoveTopicRecord per
// topic found (metadata::delete_topics) and the partition logs follow the
// published image.
#include "config_resources.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/delete_topics_request.h"
#include "samsa/protocol/gen/delete_topics_response.h"

namespace samsa::broker {

using metadata::ApiError;
using protocol::DeleteTopicsRequest;
using protocol::DeleteTopicsResponse;

void handle_delete_topics(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<DeleteTopicsRequest>(body, ctx.api_version);
  const BrokerServices& services = *ctx.services;

  std::vector<metadata::DeleteTopicRef> refs;
  if (ctx.api_version >= 6) {
    for (const auto& t : request.topics) refs.push_back({t.name, t.topic_id});
  } else {
    for (const auto& name : request.topic_names) refs.push_back({name, protocol::Uuid::zero()});
  }

  metadata::ControllerDefaults defaults = admin::defaults(services);
  std::vector<metadata::DeletableTopicResult> decided;
  bool ran = false;
  ApiError failure =
      admin::run_controller_op(services, false, [&](const MetadataImage& image, metadata::ReplicaPlacer&) {
        auto out = metadata::delete_topics(image, refs, defaults, ctx.api_version);
        decided = std::move(out.topics);
        ran = true;
        return std::move(out.records);
      });
  if (!ran)
    for (const auto& r : refs) decided.push_back({r.name, r.id, failure});

  DeleteTopicsResponse response;
  for (auto& d : decided) {
    if (d.error.ok() && !failure.ok()) d.error = failure;
    DeleteTopicsResponse::DeletableTopicResult r;
    r.name = d.name;
    r.topic_id = d.topic_id;
    r.error_code = admin::error_code(d.error);
    r.error_message = admin::error_message(d.error);
    response.responses.push_back(std::move(r));
  }
  responder.send(response);
}

}  // namespace samsa::broker
