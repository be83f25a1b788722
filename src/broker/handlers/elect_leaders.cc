// ElectLeaders (key 43): preferred (type 0, the only one in v0) or unclean
// (type 1) leader election, decided by the controller
// (metadata::elect_leaders) and committed as PartitionChangeRecords; brokers
// follow the published image. A null partition list means every partition.
#include "config_resources.h"
#include "controller_forwarding.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/metadata/leadership.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/elect_leaders_request.h"
#include "samsa/protocol/gen/elect_leaders_response.h"

namespace samsa::broker {

using metadata::ApiError;
using protocol::ElectLeadersRequest;
using protocol::ElectLeadersResponse;

namespace {

metadata::PartitionSelection selection_of(const ElectLeadersRequest& request) {
  if (!request.topic_partitions) return std::nullopt;
  std::vector<std::pair<std::string, std::vector<int32_t>>> out;
  for (const auto& t : *request.topic_partitions) out.emplace_back(t.topic, t.partitions);
  return out;
}

ElectLeadersResponse to_response(const std::vector<metadata::ElectionTopicResult>& topics, const ApiError& failure) {
  ElectLeadersResponse response;
  for (const auto& t : topics) {
    ElectLeadersResponse::ReplicaElectionResult r;
    r.topic = t.topic;
    for (const auto& p : t.partitions) {
      const ApiError& e = p.error.ok() && !failure.ok() ? failure : p.error;
      ElectLeadersResponse::ReplicaElectionResult::PartitionResult pr;
      pr.partition_id = p.partition;
      pr.error_code = admin::error_code(e);
      pr.error_message = admin::error_message(e);
      r.partition_result.push_back(std::move(pr));
    }
    response.replica_election_results.push_back(std::move(r));
  }
  return response;
}

// Every requested partition failed with `code` (and the top-level error,
// which v1+ carries): the controller could not be reached or written.
ElectLeadersResponse all_failed(const ElectLeadersRequest& request, protocol::ErrorCode code) {
  std::vector<metadata::ElectionTopicResult> topics;
  ApiError e{code, ""};
  if (request.topic_partitions)
    for (const auto& t : *request.topic_partitions) {
      metadata::ElectionTopicResult r{t.topic, {}};
      for (int32_t p : t.partitions) r.partitions.push_back({p, e});
      topics.push_back(std::move(r));
    }
  ElectLeadersResponse response = to_response(topics, ApiError::none());
  response.error_code = protocol::code(code);
  return response;
}

ElectLeadersResponse elect_here(const RequestContext& ctx, const ElectLeadersRequest& request) {
  const BrokerServices& services = *ctx.services;
  if (request.election_type != 0 && request.election_type != 1) {
    ElectLeadersResponse response = all_failed(request, protocol::ErrorCode::INVALID_REQUEST);
    return response;
  }
  const auto type = static_cast<metadata::ElectionType>(request.election_type);
  const metadata::PartitionSelection selection = selection_of(request);
  std::vector<metadata::ElectionTopicResult> decided;
  bool ran = false;
  ApiError failure =
      admin::run_controller_op(services, false, [&](const MetadataImage& image, metadata::ReplicaPlacer&) {
        auto out = metadata::elect_leaders(image, type, selection);
        decided = std::move(out.topics);
        ran = true;
        return std::move(out.records);
      });
  if (!ran) return all_failed(request, failure.code);
  return to_response(decided, failure);
}

}  // namespace

void handle_elect_leaders(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<ElectLeadersRequest>(body, ctx.api_version);
  admin::ForwardingOps<ElectLeadersResponse> ops;
  ops.local = [&] { return elect_here(ctx, request); };
  ops.not_controller = [](const ElectLeadersResponse& r) {
    const int16_t nc = protocol::code(protocol::ErrorCode::NOT_CONTROLLER);
    if (r.error_code == nc) return true;
    for (const auto& t : r.replica_election_results)
      for (const auto& p : t.partition_result)
        if (p.error_code == nc) return true;
    return false;
  };
  ops.all_failed = [request](protocol::ErrorCode code) { return all_failed(request, code); };
  admin::serve_controller_api(ctx, request, std::move(responder), std::chrono::milliseconds(request.timeout_ms),
                              std::move(ops));
}

}  // namespace samsa::broker
