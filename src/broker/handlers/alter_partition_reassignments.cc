// AlterPartitionReassignments (key 45, KIP-455): start, change or cancel
// (null replicas) the reassignment of partitions. The controller decides
// (metadata::alter_partition_reassignments) and commits the new replica
// sets; brokers named as adding replicas create their logs and catch up as
// followers, and the controller completes the move once they are in the ISR.
#include "config_resources.h"
#include "controller_forwarding.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/metadata/leadership.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/alter_partition_reassignments_request.h"
#include "samsa/protocol/gen/alter_partition_reassignments_response.h"

namespace samsa::broker {

using metadata::ApiError;
using protocol::AlterPartitionReassignmentsRequest;
using protocol::AlterPartitionReassignmentsResponse;

namespace {

std::vector<metadata::ReassignmentTarget> targets_of(const AlterPartitionReassignmentsRequest& request) {
  std::vector<metadata::ReassignmentTarget> out;
  for (const auto& t : request.topics)
    for (const auto& p : t.partitions) out.push_back({t.name, p.partition_index, p.replicas});
  return out;
}

// Results grouped by topic in request order, as Kafka answers.
AlterPartitionReassignmentsResponse to_response(const std::vector<metadata::ReassignmentResult>& results) {
  AlterPartitionReassignmentsResponse response;
  for (const auto& r : results) {
    if (response.responses.empty() || response.responses.back().name != r.topic) {
      AlterPartitionReassignmentsResponse::ReassignableTopicResponse t;
      t.name = r.topic;
      response.responses.push_back(std::move(t));
    }
    AlterPartitionReassignmentsResponse::ReassignableTopicResponse::ReassignablePartitionResponse p;
    p.partition_index = r.partition;
    p.error_code = admin::error_code(r.error);
    p.error_message = admin::error_message(r.error);
    response.responses.back().partitions.push_back(std::move(p));
  }
  return response;
}

AlterPartitionReassignmentsResponse all_failed(const AlterPartitionReassignmentsRequest& request,
                                               protocol::ErrorCode code) {
  std::vector<metadata::ReassignmentResult> results;
  for (const auto& t : targets_of(request)) results.push_back({t.topic, t.partition, ApiError{code, ""}});
  return to_response(results);
}

AlterPartitionReassignmentsResponse alter_here(const RequestContext& ctx,
                                               const AlterPartitionReassignmentsRequest& request) {
  const std::vector<metadata::ReassignmentTarget> targets = targets_of(request);
  std::vector<metadata::ReassignmentResult> decided;
  bool ran = false;
  ApiError failure =
      admin::run_controller_op(*ctx.services, false, [&](const MetadataImage& image, metadata::ReplicaPlacer&) {
        auto out = metadata::alter_partition_reassignments(image, targets);
        decided = std::move(out.partitions);
        ran = true;
        return std::move(out.records);
      });
  if (!ran) return all_failed(request, failure.code);
  if (!failure.ok())
    for (auto& d : decided)
      if (d.error.ok()) d.error = failure;
  return to_response(decided);
}

}  // namespace

void handle_alter_partition_reassignments(const RequestContext& ctx, protocol::WireReader& body,
                                          Responder responder) {
  auto request = decode_request<AlterPartitionReassignmentsRequest>(body, ctx.api_version);
  admin::ForwardingOps<AlterPartitionReassignmentsResponse> ops;
  ops.local = [&] { return alter_here(ctx, request); };
  ops.not_controller = [](const AlterPartitionReassignmentsResponse& r) {
    const int16_t nc = protocol::code(protocol::ErrorCode::NOT_CONTROLLER);
    if (r.error_code == nc) return true;
    for (const auto& t : r.responses)
      for (const auto& p : t.partitions)
        if (p.error_code == nc) return true;
    return false;
  };
  ops.all_failed = [request](protocol::ErrorCode code) { return all_failed(request, code); };
  admin::serve_controller_api(ctx, request, std::move(responder), std::chrono::milliseconds(request.timeout_ms),
                              std::move(ops));
}

}  // namespace samsa::broker
