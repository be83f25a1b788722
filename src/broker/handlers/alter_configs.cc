// AlterConfigs (key 33), the legacy API: each resource's configs replace all
// of its current dynamic configs (Kafka's legacyAlterConfigs on the
// controller). BROKER_LOGGER is refused, as Kafka's ConfigAdminManager does.
#include <map>

#include "config_resources.h"
#include "controller_forwarding.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/alter_configs_request.h"
#include "samsa/protocol/gen/alter_configs_response.h"

namespace samsa::broker {

using metadata::ApiError;
using protocol::AlterConfigsRequest;
using protocol::AlterConfigsResponse;
using protocol::ErrorCode;

namespace {

AlterConfigsResponse alter_here(const RequestContext& ctx, const AlterConfigsRequest& request) {
  const BrokerServices& services = *ctx.services;

  std::map<std::pair<int8_t, std::string>, int> count;
  for (const auto& r : request.resources) ++count[{r.resource_type, r.resource_name}];

  std::vector<std::optional<ApiError>> results(request.resources.size());
  std::vector<metadata::AlterConfigsResource> forward;
  std::vector<size_t> forward_index;
  for (size_t i = 0; i < request.resources.size(); ++i) {
    const auto& r = request.resources[i];
    metadata::AlterConfigsResource res;
    res.resource_type = r.resource_type;
    res.resource_name = r.resource_name;
    for (const auto& c : r.configs) res.configs.push_back({c.name, metadata::AlterConfigOp::kSet, c.value});
    if (count[{r.resource_type, r.resource_name}] > 1) {
      results[i] = ApiError{ErrorCode::INVALID_REQUEST, "Each resource must appear at most once."};
    } else if (auto e = admin::precheck_alter(services, r.resource_type, r.resource_name, res.configs, false,
                                                ctx.listener_kind == ListenerKind::kBroker)) {
      results[i] = std::move(*e);
    } else {
      forward.push_back(std::move(res));
      forward_index.push_back(i);
    }
  }

  if (!forward.empty()) {
    auto errors = admin::commit_config_changes(services, forward, request.validate_only, &metadata::alter_configs);
    for (size_t k = 0; k < forward_index.size(); ++k) results[forward_index[k]] = std::move(errors[k]);
  }

  AlterConfigsResponse response;
  for (size_t i = 0; i < request.resources.size(); ++i) {
    AlterConfigsResponse::AlterConfigsResourceResponse out;
    out.resource_type = request.resources[i].resource_type;
    out.resource_name = request.resources[i].resource_name;
    out.error_code = admin::error_code(*results[i]);
    out.error_message = admin::error_message(*results[i]);
    response.responses.push_back(std::move(out));
  }
  return response;
}

}  // namespace

void handle_alter_configs(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<AlterConfigsRequest>(body, ctx.api_version);
  admin::ForwardingOps<AlterConfigsResponse> ops;
  ops.local = [&] { return alter_here(ctx, request); };
  ops.not_controller = [](const AlterConfigsResponse& r) {
    for (const auto& res : r.responses)
      if (res.error_code == protocol::code(ErrorCode::NOT_CONTROLLER)) return true;
    return false;
  };
  ops.all_failed = [request](ErrorCode code) {
    AlterConfigsResponse response;
    for (const auto& res : request.resources) {
      AlterConfigsResponse::AlterConfigsResourceResponse out;
      out.resource_type = res.resource_type;
      out.resource_name = res.resource_name;
      out.error_code = protocol::code(code);
      response.responses.push_back(std::move(out));
    }
    return response;
  };
  admin::serve_controller_api(ctx, request, std::move(responder), admin::kDefaultForwardTimeout, std::move(ops));
}

}  // namespace samsa::broker
