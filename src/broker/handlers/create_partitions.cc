// CreatePartitions (key 37): the controller checks the new count and places
// the new partitions (metadata::create_partitions); validate_only decides
// without committing.
#include <set>

#include "config_resources.h"
#include "controller_forwarding.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/create_partitions_request.h"
#include "samsa/protocol/gen/create_partitions_response.h"

namespace samsa::broker {

using metadata::ApiError;
using protocol::CreatePartitionsRequest;
using protocol::CreatePartitionsResponse;

namespace {

CreatePartitionsResponse create_here(const RequestContext& ctx, const CreatePartitionsRequest& request) {
  const BrokerServices& services = *ctx.services;

  std::vector<metadata::CreatePartitionsTopic> topics;
  for (const auto& t : request.topics) {
    metadata::CreatePartitionsTopic c;
    c.name = t.name;
    c.count = t.count;
    if (t.assignments) {
      c.assignments.emplace();
      for (const auto& a : *t.assignments) c.assignments->push_back(a.broker_ids);
    }
    topics.push_back(std::move(c));
  }

  std::vector<metadata::CreatePartitionsTopicResult> decided;
  bool ran = false;
  ApiError failure = admin::run_controller_op(
      services, request.validate_only, [&](const MetadataImage& image, metadata::ReplicaPlacer& placer) {
        metadata::CreatePartitionsResult out;
        out = metadata::create_partitions(image, topics, request.validate_only, placer);
        decided = std::move(out.topics);
        ran = true;
        return std::move(out.records);
      });
  if (!ran) {
    std::set<std::string, std::less<>> seen;
    for (const auto& t : topics)
      if (seen.insert(t.name).second) decided.push_back({t.name, failure});
  }

  CreatePartitionsResponse response;
  for (auto& d : decided) {
    if (d.error.ok() && !failure.ok()) d.error = failure;
    CreatePartitionsResponse::CreatePartitionsTopicResult r;
    r.name = d.name;
    r.error_code = admin::error_code(d.error);
    r.error_message = admin::error_message(d.error);
    response.results.push_back(std::move(r));
  }
  return response;
}

}  // namespace

void handle_create_partitions(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<CreatePartitionsRequest>(body, ctx.api_version);
  admin::ForwardingOps<CreatePartitionsResponse> ops;
  ops.local = [&] { return create_here(ctx, request); };
  ops.not_controller = [](const CreatePartitionsResponse& r) {
    for (const auto& t : r.results)
      if (t.error_code == protocol::code(protocol::ErrorCode::NOT_CONTROLLER)) return true;
    return false;
  };
  ops.all_failed = [request](protocol::ErrorCode code) {
    CreatePartitionsResponse response;
    std::set<std::string, std::less<>> seen;
    for (const auto& t : request.topics) {
      if (!seen.insert(t.name).second) continue;
      CreatePartitionsResponse::CreatePartitionsTopicResult r;
      r.name = t.name;
      r.error_code = protocol::code(code);
      response.results.push_back(std::move(r));
    }
    return response;
  };
  admin::serve_controller_api(ctx, request, std::move(responder), std::chrono::milliseconds(request.timeout_ms),
                              std::move(ops));
}

}  // namespace samsa::broker
