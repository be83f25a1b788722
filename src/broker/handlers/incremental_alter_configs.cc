// IncrementalAlterConfigs (key 44): BROKER_LOGGER resources are handled
// here, as Kafka's ConfigAdminManager does on the broker; TOPIC and BROKER
// resources go to the controller (ConfigurationControlManager), one atomic
// change per resource.
#include <charconv>
#include <map>

#include "config_resources.h"
#include "controller_forwarding.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/incremental_alter_configs_request.h"
#include "samsa/protocol/gen/incremental_alter_configs_response.h"

namespace samsa::broker {

using metadata::ApiError;
using protocol::ErrorCode;
using protocol::IncrementalAlterConfigsRequest;
using protocol::IncrementalAlterConfigsResponse;
using Resource = IncrementalAlterConfigsRequest::AlterConfigsResource;

namespace {

constexpr std::string_view kRootLogger = "root";

std::string_view op_name(int8_t op) {
  switch (op) {
    case 0: return "SET";
    case 1: return "DELETE";
    case 2: return "APPEND";
    case 3: return "SUBTRACT";
  }
  return "UNKNOWN";
}

// Kafka's ConfigAdminManager#validateLogLevelConfigs and alterLogLevelConfigs.
ApiError alter_loggers(const BrokerServices& services, const Resource& r, bool validate_only) {
  int64_t id = 0;
  const std::string& name = r.resource_name;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (ec != std::errc() || end != name.data() + name.size())
    return {ErrorCode::INVALID_REQUEST, "Node id must be an integer, but it is: " + name};
  if (id != services.node_id)
    return {ErrorCode::INVALID_REQUEST,
            "Unexpected broker id, expected " + std::to_string(services.node_id) + ", but received " + name};
  for (const auto& c : r.configs) {
    switch (c.config_operation) {
      case 0:
        if (c.name != kRootLogger) return {ErrorCode::INVALID_CONFIG, "Logger " + c.name + " does not exist!"};
        if (c.value != "FATAL" && c.value != "ERROR" && c.value != "WARN" && c.value != "INFO" && c.value != "DEBUG" &&
            c.value != "TRACE")
          return {ErrorCode::INVALID_CONFIG, "Cannot set the log level of " + c.name + " to " +
                                                 c.value.value_or("null") +
                                                 " as it is not a supported log level. Valid log levels are "
                                                 "FATAL, ERROR, WARN, INFO, DEBUG, TRACE"};
        break;
      case 1:
        if (c.name != kRootLogger) return {ErrorCode::INVALID_CONFIG, "Logger " + c.name + " does not exist!"};
        return {ErrorCode::INVALID_REQUEST, "Removing the log level of the root logger is not allowed"};
      case 2:
      case 3:
        return {ErrorCode::INVALID_REQUEST,
                std::string(op_name(c.config_operation)) + " operation is not allowed for the BROKER_LOGGER resource"};
      default:
        return {ErrorCode::INVALID_REQUEST, "Unknown operation type " + std::to_string(c.config_operation) +
                                                " is not allowed for the BROKER_LOGGER resource"};
    }
  }
  if (!validate_only)
    for (const auto& c : r.configs) admin::set_root_log_level(*c.value);
  return ApiError::none();
}

}  // namespace

namespace {

IncrementalAlterConfigsResponse alter_here(const RequestContext& ctx, const IncrementalAlterConfigsRequest& request) {
  const BrokerServices& services = *ctx.services;

  std::map<std::pair<int8_t, std::string>, int> count;
  for (const auto& r : request.resources) ++count[{r.resource_type, r.resource_name}];

  std::vector<std::optional<ApiError>> results(request.resources.size());
  std::vector<metadata::AlterConfigsResource> forward;
  std::vector<size_t> forward_index;
  for (size_t i = 0; i < request.resources.size(); ++i) {
    const Resource& r = request.resources[i];
    metadata::AlterConfigsResource res;
    res.resource_type = r.resource_type;
    res.resource_name = r.resource_name;
    for (const auto& c : r.configs)
      res.configs.push_back({c.name, static_cast<metadata::AlterConfigOp>(c.config_operation), c.value});
    if (count[{r.resource_type, r.resource_name}] > 1) {
      results[i] = ApiError{ErrorCode::INVALID_REQUEST, "Each resource must appear at most once."};
    } else if (auto e = admin::precheck_alter(services, r.resource_type, r.resource_name, res.configs, true,
                                                ctx.listener_kind == ListenerKind::kBroker)) {
      results[i] = std::move(*e);
    } else if (r.resource_type == static_cast<int8_t>(ConfigResourceType::kBrokerLogger)) {
      results[i] = alter_loggers(services, r, request.validate_only);
    } else {
      forward.push_back(std::move(res));
      forward_index.push_back(i);
    }
  }

  if (!forward.empty()) {
    auto errors = admin::commit_config_changes(services, forward, request.validate_only, &metadata::incremental_alter_configs);
    for (size_t k = 0; k < forward_index.size(); ++k) results[forward_index[k]] = std::move(errors[k]);
  }

  IncrementalAlterConfigsResponse response;
  for (size_t i = 0; i < request.resources.size(); ++i) {
    IncrementalAlterConfigsResponse::AlterConfigsResourceResponse out;
    out.resource_type = request.resources[i].resource_type;
    out.resource_name = request.resources[i].resource_name;
    out.error_code = admin::error_code(*results[i]);
    out.error_message = admin::error_message(*results[i]);
    response.responses.push_back(std::move(out));
  }
  return response;
}

}  // namespace

void handle_incremental_alter_configs(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<IncrementalAlterConfigsRequest>(body, ctx.api_version);
  admin::ForwardingOps<IncrementalAlterConfigsResponse> ops;
  ops.local = [&] { return alter_here(ctx, request); };
  // BROKER_LOGGER resources are this node's loggers: Kafka's broker answers
  // them itself (a request mixing them with others is served here too).
  for (const auto& r : request.resources)
    if (r.resource_type == static_cast<int8_t>(ConfigResourceType::kBrokerLogger)) ops.local_only = true;
  ops.not_controller = [](const IncrementalAlterConfigsResponse& r) {
    for (const auto& res : r.responses)
      if (res.error_code == protocol::code(ErrorCode::NOT_CONTROLLER)) return true;
    return false;
  };
  ops.all_failed = [request](ErrorCode code) {
    IncrementalAlterConfigsResponse response;
    for (const auto& res : request.resources) {
      IncrementalAlterConfigsResponse::AlterConfigsResourceResponse out;
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
