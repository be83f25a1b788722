// DeleteGroups (key 42): removes empty groups with their committed offsets.
#include <memory>
#include <mutex>

#include "samsa/broker/group/group_handlers_support.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/delete_groups_request.h"
#include "samsa/protocol/gen/delete_groups_response.h"

namespace samsa::broker {

namespace {

// The groups' deletions finish independently (each waits for its own
// tombstones to replicate); the response goes when the last one does.
struct PendingDeletes {
  std::mutex mu;
  protocol::DeleteGroupsResponse response;
  size_t remaining = 0;
  Responder responder;
  explicit PendingDeletes(Responder r) : responder(std::move(r)) {}
};

}  // namespace

void handle_delete_groups(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<protocol::DeleteGroupsRequest>(body, ctx.api_version);
  auto pending = std::make_shared<PendingDeletes>(responder);
  for (const auto& id : request.groups_names) pending->response.results.emplace_back().group_id = id;
  pending->remaining = request.groups_names.size();
  if (pending->remaining == 0) return responder.send(pending->response);
  auto* groups = group::coordinator(ctx);
  for (size_t i = 0; i < request.groups_names.size(); ++i) {
    auto done = [pending, i](protocol::ErrorCode e) {
      bool last = false;
      {
        std::lock_guard lock(pending->mu);
        pending->response.results[i].error_code = protocol::code(e);
        last = --pending->remaining == 0;
      }
      if (last) pending->responder.send(pending->response);
    };
    if (groups) groups->delete_group(request.groups_names[i], done);
    else done(protocol::ErrorCode::COORDINATOR_NOT_AVAILABLE);
  }
}

}  // namespace samsa::broker
