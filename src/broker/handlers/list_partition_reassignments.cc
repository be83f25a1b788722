// ListPartitionReassignments (key 46, KIP-455): the reassignments in
// progress, all of them (null topics) or those of the named partitions, as
// the active controller's image has them.
#include "config_resources.h"
#include "controller_forwarding.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/metadata/leadership.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/list_partition_reassignments_request.h"
#include "samsa/protocol/gen/list_partition_reassignments_response.h"

namespace samsa::broker {

using protocol::ListPartitionReassignmentsRequest;
using protocol::ListPartitionReassignmentsResponse;

namespace {

ListPartitionReassignmentsResponse failed(protocol::ErrorCode code, std::optional<std::string> message = {}) {
  ListPartitionReassignmentsResponse response;
  response.error_code = protocol::code(code);
  response.error_message = std::move(message);
  return response;
}

ListPartitionReassignmentsResponse list_here(const RequestContext& ctx,
                                             const ListPartitionReassignmentsRequest& request) {
  const BrokerServices& services = *ctx.services;
  // Only the active controller's image is sure to hold every committed change.
  if (services.controller == nullptr || !services.controller->active())
    return failed(protocol::ErrorCode::NOT_CONTROLLER);
  metadata::PartitionSelection selection;
  if (request.topics) {
    selection.emplace();
    for (const auto& t : *request.topics) selection->emplace_back(t.name, t.partition_indexes);
  }
  auto image = services.metadata.current();
  ListPartitionReassignmentsResponse response;
  for (auto& r : metadata::list_partition_reassignments(*image, selection)) {
    if (response.topics.empty() || response.topics.back().name != r.topic) {
      ListPartitionReassignmentsResponse::OngoingTopicReassignment t;
      t.name = r.topic;
      response.topics.push_back(std::move(t));
    }
    ListPartitionReassignmentsResponse::OngoingTopicReassignment::OngoingPartitionReassignment p;
    p.partition_index = r.partition;
    p.replicas = std::move(r.replicas);
    p.adding_replicas = std::move(r.adding);
    p.removing_replicas = std::move(r.removing);
    response.topics.back().partitions.push_back(std::move(p));
  }
  return response;
}

}  // namespace

void handle_list_partition_reassignments(const RequestContext& ctx, protocol::WireReader& body,
                                         Responder responder) {
  auto request = decode_request<ListPartitionReassignmentsRequest>(body, ctx.api_version);
  admin::ForwardingOps<ListPartitionReassignmentsResponse> ops;
  ops.local = [&] { return list_here(ctx, request); };
  ops.not_controller = [](const ListPartitionReassignmentsResponse& r) {
    return r.error_code == protocol::code(protocol::ErrorCode::NOT_CONTROLLER);
  };
  ops.all_failed = [](protocol::ErrorCode code) { return failed(code); };
  admin::serve_controller_api(ctx, request, std::move(responder), std::chrono::milliseconds(request.timeout_ms),
                              std::move(ops));
}

}  // namespace samsa::broker
