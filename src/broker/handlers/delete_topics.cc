// DeleteTopics (key 20): topics by name (v0-v5 topic_names, v6 topics with
// a name) or by id (v6); the controller writes one RemoveTopicRecord per
// topic found (metadata::delete_topics) and the partition logs follow the
// published image.
#include "config_resources.h"
#include "controller_forwarding.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/delete_topics_request.h"
#include "samsa/protocol/gen/delete_topics_response.h"

namespace samsa::broker {

using metadata::ApiError;
using protocol::DeleteTopicsRequest;
using protocol::DeleteTopicsResponse;

namespace {

std::vector<metadata::DeleteTopicRef> topic_refs(const DeleteTopicsRequest& request, int16_t version) {
  std::vector<metadata::DeleteTopicRef> refs;
  if (version >= 6) {
    for (const auto& t : request.topics) refs.push_back({t.name, t.topic_id});
  } else {
    for (const auto& name : request.topic_names) refs.push_back({name, protocol::Uuid::zero()});
  }
  return refs;
}

DeleteTopicsResponse delete_here(const RequestContext& ctx, const DeleteTopicsRequest& request) {
  const BrokerServices& services = *ctx.services;

  std::vector<metadata::DeleteTopicRef> refs = topic_refs(request, ctx.api_version);

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
  return response;
}

}  // namespace

void handle_delete_topics(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<DeleteTopicsRequest>(body, ctx.api_version);
  admin::ForwardingOps<DeleteTopicsResponse> ops;
  ops.local = [&] { return delete_here(ctx, request); };
  ops.not_controller = [](const DeleteTopicsResponse& r) {
    for (const auto& t : r.responses)
      if (t.error_code == protocol::code(protocol::ErrorCode::NOT_CONTROLLER)) return true;
    return false;
  };
  ops.all_failed = [refs = topic_refs(request, ctx.api_version)](protocol::ErrorCode code) {
    DeleteTopicsResponse response;
    for (const auto& ref : refs) {
      DeleteTopicsResponse::DeletableTopicResult r;
      r.name = ref.name;
      r.topic_id = ref.id;
      r.error_code = protocol::code(code);
      response.responses.push_back(std::move(r));
    }
    return response;
  };
  admin::serve_controller_api(ctx, request, std::move(responder), std::chrono::milliseconds(request.timeout_ms),
                              std::move(ops));
}

}  // namespace samsa::broker
