// DescribeConfigs (key 32), Kafka's ConfigHelper#describeConfigs: TOPIC
// resources (every topic key with its effective value, source and synonyms),
// BROKER resources (this node's id: every broker key; "": the cluster-wide
// dynamic defaults) and BROKER_LOGGER (this node's loggers).
#include <algorithm>
#include <charconv>

#include "config_resources.h"
#include "samsa/broker/broker_config.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/describe_configs_request.h"
#include "samsa/protocol/gen/describe_configs_response.h"

namespace samsa::broker {

using protocol::DescribeConfigsRequest;
using protocol::DescribeConfigsResponse;
using protocol::ErrorCode;
using Result = DescribeConfigsResponse::DescribeConfigsResult;
using Entry = Result::DescribeConfigsResourceResult;

namespace {

struct ResourceError {
  ErrorCode code;
  std::string message;
};

int32_t parse_broker_id(const std::string& name, const char* what) {
  int64_t id = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (ec != std::errc() || end != name.data() + name.size() || id < INT32_MIN || id > INT32_MAX)
    throw ResourceError{ErrorCode::INVALID_REQUEST, std::string(what) + " must be an integer, but it is: " + name};
  return static_cast<int32_t>(id);
}

std::vector<admin::DescribedConfig> describe_resource(const RequestContext& ctx, const MetadataImage& image,
                                                      const DescribeConfigsRequest::DescribeConfigsResource& r) {
  const BrokerServices& services = *ctx.services;
  switch (static_cast<ConfigResourceType>(r.resource_type)) {
    case ConfigResourceType::kTopic: {
      if (auto why = admin::invalid_topic_name(r.resource_name))
        throw ResourceError{ErrorCode::INVALID_TOPIC_EXCEPTION, *why};
      if (image.topic(r.resource_name) == nullptr)
        throw ResourceError{ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition."};
      return admin::describe_topic(services, image, r.resource_name);
    }
    case ConfigResourceType::kBroker: {
      if (r.resource_name.empty()) return admin::describe_broker(services, image, false);
      if (parse_broker_id(r.resource_name, "Broker id") == services.node_id)
        return admin::describe_broker(services, image, true);
      throw ResourceError{ErrorCode::INVALID_REQUEST, "Unexpected broker id, expected " +
                                                          std::to_string(services.node_id) +
                                                          " or empty string, but received " + r.resource_name};
    }
    case ConfigResourceType::kBrokerLogger: {
      if (r.resource_name.empty()) throw ResourceError{ErrorCode::INVALID_REQUEST, "Broker id must not be empty"};
      if (parse_broker_id(r.resource_name, "Broker id") != services.node_id)
        throw ResourceError{
            ErrorCode::INVALID_REQUEST,
            "Unexpected broker id, expected " + std::to_string(services.node_id) + " but received " + r.resource_name};
      // Samsa has one logger, reported as log4j's root logger.
      admin::DescribedConfig root;
      root.name = "root";
      root.value = admin::root_log_level(services);
      root.source = ConfigSourceId::kDynamicBrokerLogger;
      root.type = 0;
      return {root};
    }
    default:
      throw ResourceError{ErrorCode::INVALID_REQUEST,
                          "Unsupported resource type: " + std::to_string(static_cast<int>(r.resource_type))};
  }
}

}  // namespace

void handle_describe_configs(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<DescribeConfigsRequest>(body, ctx.api_version);
  auto image = ctx.services->metadata.current();
  bool synonyms = ctx.api_version >= 1 && request.include_synonyms;

  DescribeConfigsResponse response;
  for (const auto& r : request.resources) {
    Result result;
    result.resource_type = r.resource_type;
    result.resource_name = r.resource_name;
    result.error_message = std::nullopt;
    try {
      for (admin::DescribedConfig& c : describe_resource(ctx, *image, r)) {
        if (r.configuration_keys && !r.configuration_keys->empty() &&
            std::find(r.configuration_keys->begin(), r.configuration_keys->end(), c.name) ==
                r.configuration_keys->end())
          continue;
        Entry e;
        e.name = std::move(c.name);
        e.value = std::move(c.value);
        e.read_only = c.read_only;
        e.is_default = c.source == ConfigSourceId::kDefault;
        e.config_source = static_cast<int8_t>(c.source);
        e.is_sensitive = c.is_sensitive;
        if (synonyms)
          for (auto& s : c.synonyms) {
            Entry::DescribeConfigsSynonym syn;
            syn.name = std::move(s.name);
            syn.value = std::move(s.value);
            syn.source = static_cast<int8_t>(s.source);
            e.synonyms.push_back(std::move(syn));
          }
        e.config_type = c.type;
        e.documentation = std::nullopt;  // nullable; Samsa carries no documentation text
        result.configs.push_back(std::move(e));
      }
    } catch (const ResourceError& err) {
      result.error_code = protocol::code(err.code);
      result.error_message = err.message;
      result.configs.clear();
    }
    response.results.push_back(std::move(result));
  }
  responder.send(response);
}

}  // namespace samsa::broker
