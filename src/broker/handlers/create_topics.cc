// CreateTopics (key 19): the controller validates and places each topic
// (metadata::create_topics); the records of the topics that succeeded are
// committed together. From v5 a created topic's result carries its partition
// count, replication factor and effective configs, as Kafka's
// ReplicationControlManager#createTopic reports them.
#include <set>

#include "config_resources.h"
#include "controller_forwarding.h"
#include "samsa/broker/broker_config.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/create_topics_request.h"
#include "samsa/protocol/gen/create_topics_response.h"

namespace samsa::broker {

using metadata::ApiError;
using protocol::CreateTopicsRequest;
using protocol::CreateTopicsResponse;
using protocol::ErrorCode;
using Result = CreateTopicsResponse::CreatableTopicResult;

namespace {

CreateTopicsResponse create_here(const RequestContext& ctx, const CreateTopicsRequest& request) {
  const BrokerServices& services = *ctx.services;
  // Kafka: validate_only exists from v1; a v0 request always creates.
  bool validate_only = ctx.api_version >= 1 && request.validate_only;

  std::vector<metadata::CreatableTopic> topics;
  for (const auto& t : request.topics) {
    metadata::CreatableTopic c;
    c.name = t.name;
    c.num_partitions = t.num_partitions;
    c.replication_factor = t.replication_factor;
    for (const auto& a : t.assignments) c.assignments.push_back({a.partition_index, a.broker_ids});
    for (const auto& cfg : t.configs) c.configs.emplace_back(cfg.name, cfg.value);
    topics.push_back(std::move(c));
  }

  metadata::ControllerDefaults defaults = admin::defaults(services);
  std::vector<metadata::CreatableTopicResult> decided;
  ApiError failure = admin::run_controller_op(
      services, validate_only, [&](const MetadataImage& image, metadata::ReplicaPlacer& placer) {
        metadata::CreateTopicsResult out;
        out = metadata::create_topics(image, topics, validate_only, defaults, placer);
        decided = std::move(out.topics);
        return std::move(out.records);
      });
  if (decided.empty() && !topics.empty()) {
    // The decision never ran (no controller): every distinct name gets the error.
    std::set<std::string, std::less<>> seen;
    for (const auto& t : topics)
      if (seen.insert(t.name).second) decided.push_back({t.name, protocol::Uuid::zero(), failure, -1, -1});
  }

  // Configs of created topics are described against the image they were
  // decided on, with the overrides the request gave.
  auto image = services.metadata.current();
  BrokerConfigLayers layers = broker_config_layers(*image, services.node_id, *services.config);
  CreateTopicsResponse response;
  for (metadata::CreatableTopicResult& d : decided) {
    if (d.error.ok() && !failure.ok()) d.error = failure;
    Result r;
    r.name = d.name;
    r.error_code = admin::error_code(d.error);
    r.error_message = admin::error_message(d.error);
    if (d.error.ok()) {
      r.topic_id = d.topic_id;
      r.num_partitions = d.num_partitions;
      r.replication_factor = d.replication_factor;
      r.topic_config_error_code = 0;
      if (ctx.api_version >= 5) {
        ConfigMap overrides;
        for (const auto& t : request.topics)
          if (t.name == d.name)
            for (const auto& c : t.configs)
              if (c.value) overrides[c.name] = *c.value;
        std::vector<Result::CreatableTopicConfigs> configs;
        for (const TopicConfigEntry& e : describe_topic_configs(overrides, layers)) {
          Result::CreatableTopicConfigs c;
          c.name = e.name;
          c.value = e.is_sensitive ? std::nullopt : e.value;
          c.read_only = e.read_only;
          c.config_source = static_cast<int8_t>(e.source);
          c.is_sensitive = e.is_sensitive;
          configs.push_back(std::move(c));
        }
        r.configs = std::move(configs);
      }
    }
    response.topics.push_back(std::move(r));
  }
  return response;
}

}  // namespace

void handle_create_topics(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<CreateTopicsRequest>(body, ctx.api_version);
  admin::ForwardingOps<CreateTopicsResponse> ops;
  ops.local = [&] { return create_here(ctx, request); };
  ops.not_controller = [](const CreateTopicsResponse& r) {
    for (const auto& t : r.topics)
      if (t.error_code == protocol::code(ErrorCode::NOT_CONTROLLER)) return true;
    return false;
  };
  ops.all_failed = [request](ErrorCode code) {
    CreateTopicsResponse response;
    std::set<std::string, std::less<>> seen;
    for (const auto& t : request.topics) {
      if (!seen.insert(t.name).second) continue;
      Result r;
      r.name = t.name;
      r.error_code = protocol::code(code);
      response.topics.push_back(std::move(r));
    }
    return response;
  };
  admin::serve_controller_api(ctx, request, std::move(responder), std::chrono::milliseconds(request.timeout_ms),
                              std::move(ops));
}

}  // namespace samsa::broker
