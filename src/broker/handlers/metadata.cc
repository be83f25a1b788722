// Metadata (key 3): brokers as seen through the listener the client used,
// cluster id, a live broker as "controller", and topics — creating missing
// ones when auto.create.topics.enable and the request allow it.
#include <set>

#include "samsa/broker/authorized_operations.h"
#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/controller_channel.h"
#include "samsa/broker/controller_service.h"
#include "samsa/broker/controller_thread.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/internal_topics.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/create_topics_request.h"
#include "samsa/protocol/gen/create_topics_response.h"
#include "samsa/protocol/gen/metadata_request.h"
#include "samsa/protocol/gen/metadata_response.h"
#include "samsa/util/logging.h"

namespace samsa::broker {

using protocol::ErrorCode;
using protocol::MetadataRequest;
using protocol::MetadataResponse;

namespace {

MetadataResponse::MetadataResponseTopic describe_topic(const TopicImage& topic, const MetadataImage& image,
                                                       bool include_operations) {
  MetadataResponse::MetadataResponseTopic t;
  t.name = topic.name;
  t.topic_id = topic.id;
  t.is_internal = is_internal_topic(topic.name);
  if (include_operations) t.topic_authorized_operations = kTopicOperations;
  for (const auto& [index, p] : topic.partitions) {
    MetadataResponse::MetadataResponseTopic::MetadataResponsePartition mp;
    mp.partition_index = index;
    mp.leader_id = p.leader;
    mp.leader_epoch = p.leader_epoch;
    mp.replica_nodes = p.replicas;
    mp.isr_nodes = p.isr;
    auto live = [&](int32_t id) {
      auto it = image.brokers.find(id);
      return it != image.brokers.end() && !it->second.fenced;
    };
    for (int32_t r : p.replicas)
      if (!live(r)) mp.offline_replicas.push_back(r);
    if (p.leader < 0 || !live(p.leader)) mp.error_code = protocol::code(ErrorCode::LEADER_NOT_AVAILABLE);
    t.partitions.push_back(std::move(mp));
  }
  return t;
}

// Kafka's AutoTopicCreationManager on a broker that is not the active
// controller: CreateTopics goes to the controller and the client hears
// LEADER_NOT_AVAILABLE (retriable) until the topic is in the metadata.
void request_creation(const RequestContext& ctx, const std::vector<std::string>& names) {
  protocol::CreateTopicsRequest request;
  for (const auto& n : names) {
    auto& t = request.topics.emplace_back();
    t.name = n;
    t.num_partitions = -1;  // the controller's num.partitions / default.replication.factor
    t.replication_factor = -1;
  }
  request.timeout_ms = 30'000;
  send_create_topics(*ctx.services->controller_channel, request, [](bool) {});
}

// Creates `names` with the server defaults; returns the image afterwards and
// the error of each name that could not be created.
std::shared_ptr<const MetadataImage> auto_create(const RequestContext& ctx, const std::vector<std::string>& names,
                                                 std::map<std::string, metadata::ApiError>& errors) {
  ControllerService& controller = *ctx.services->controller;
  if (!controller.active() && ctx.services->controller_channel != nullptr) {
    request_creation(ctx, names);
    for (const auto& n : names) errors[n] = {ErrorCode::LEADER_NOT_AVAILABLE, ""};
    return ctx.services->metadata.current();
  }
  auto committed = controller.commit([&](const MetadataImage& image) {
    std::vector<metadata::CreatableTopic> topics;
    for (const auto& n : names) topics.push_back(metadata::CreatableTopic{n});
    auto result = metadata::create_topics(image, topics, false, controller.defaults(), controller.placer());
    for (const auto& t : result.topics)
      if (!t.error.ok() && t.error.code != ErrorCode::TOPIC_ALREADY_EXISTS) errors[t.name] = t.error;
    return result.records;
  });
  if (auto* image = std::get_if<std::shared_ptr<const MetadataImage>>(&committed)) return *image;
  auto error = to_api_error(std::get<ControllerError>(committed));
  samsa::logger("samsa.server.AutoTopicCreationManager")->warn("Auto-creating topics failed: {}", error.message);
  for (const auto& n : names) errors[n] = error;
  return ctx.services->metadata.current();
}

// v0: an empty list means every topic; v1+: null means every topic.
bool wants_all_topics(const MetadataRequest& request, int16_t version) {
  return !request.topics.has_value() || (version == 0 && request.topics->empty());
}

// The named topics to create, when auto.create.topics.enable and the request
// allow it.
std::vector<std::string> topics_to_create(const RequestContext& ctx, const MetadataRequest& request,
                                          const MetadataImage& image) {
  std::vector<std::string> missing;
  if (wants_all_topics(request, ctx.api_version) || !ctx.services->controller || !ctx.services->config ||
      !ctx.services->config->auto_create_topics_enable || (ctx.api_version >= 4 && !request.allow_auto_topic_creation))
    return missing;
  for (const auto& t : *request.topics)
    if (t.name && !image.topic(*t.name) && !is_internal_topic(*t.name)) missing.push_back(*t.name);
  return missing;
}

void answer_metadata(const RequestContext& ctx, const MetadataRequest& request, Responder responder) {
  auto image = ctx.services->metadata.current();
  const std::string& listener = ctx.connection->listener_name;
  bool topic_ops = ctx.api_version >= 8 && request.include_topic_authorized_operations;

  bool all_topics = wants_all_topics(request, ctx.api_version);
  std::map<std::string, metadata::ApiError> create_errors;
  {
    std::vector<std::string> missing = topics_to_create(ctx, request, *image);
    if (!missing.empty()) {
      try {
        image = auto_create(ctx, missing, create_errors);
      } catch (const std::exception& e) {
        samsa::logger("samsa.server.AutoTopicCreationManager")->error("Auto-creating topics failed: {}", e.what());
        for (const auto& n : missing)
          create_errors[n] = metadata::ApiError{ErrorCode::UNKNOWN_SERVER_ERROR, e.what()};
      }
    }
  }

  MetadataResponse response;
  for (const auto& [id, broker] : image->brokers) {
    if (broker.fenced) continue;
    const BrokerEndpoint* endpoint = broker.endpoint(listener);
    if (!endpoint) continue;  // brokers without this listener are invisible to its clients
    MetadataResponse::MetadataResponseBroker b;
    b.node_id = id;
    b.host = endpoint->host;
    b.port = endpoint->port;
    b.rack = broker.rack;
    response.brokers.push_back(std::move(b));
  }
  response.cluster_id = image->cluster_id;
  response.controller_id = image->client_visible_controller_id();
  if (ctx.api_version >= 8 && ctx.api_version <= 10 && request.include_cluster_authorized_operations)
    response.cluster_authorized_operations = kClusterOperations;

  if (all_topics) {
    for (const auto& [name, topic] : image->topics->by_name)
      response.topics.push_back(describe_topic(*topic, *image, topic_ops));
  } else {
    std::set<std::string> seen;
    for (const auto& t : *request.topics) {
      const TopicImage* topic = t.name ? image->topic(*t.name) : image->topic(t.topic_id);
      if (topic) {
        if (seen.insert(topic->name).second) response.topics.push_back(describe_topic(*topic, *image, topic_ops));
        continue;
      }
      MetadataResponse::MetadataResponseTopic missing;
      missing.name = t.name;
      missing.topic_id = t.topic_id;
      auto err = t.name ? create_errors.find(*t.name) : create_errors.end();
      if (err != create_errors.end())
        missing.error_code = protocol::code(err->second.code);
      else
        missing.error_code = protocol::code(t.name ? ErrorCode::UNKNOWN_TOPIC_OR_PARTITION : ErrorCode::UNKNOWN_TOPIC_ID);
      response.topics.push_back(std::move(missing));
    }
  }
  responder.send(response);
}

}  // namespace

void handle_metadata(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<MetadataRequest>(body, ctx.api_version);
  // Creating topics commits to the controller (an fsync) and creates
  // partitions: done on the controller thread, answered from there.
  if (should_hand_over(ctx) && !topics_to_create(ctx, request, *ctx.services->metadata.current()).empty()) {
    return run_on_controller_thread(
        ctx, std::move(responder),
        [request = std::move(request)](const RequestContext& c, Responder r) { answer_metadata(c, request, r); });
  }
  answer_metadata(ctx, request, std::move(responder));
}

}  // namespace samsa::broker
