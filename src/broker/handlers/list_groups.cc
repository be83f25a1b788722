// ListGroups (key 16): the groups this broker coordinates, optionally
// filtered by state (v4+) and type (v5+; every group here is "classic").
#include <algorithm>
#include <cctype>

#include "samsa/broker/group/group_handlers_support.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/list_groups_request.h"
#include "samsa/protocol/gen/list_groups_response.h"

namespace samsa::broker {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

void handle_list_groups(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<protocol::ListGroupsRequest>(body, ctx.api_version);
  protocol::ListGroupsResponse response;
  auto* groups = group::coordinator(ctx);
  if (!groups) {
    response.error_code = protocol::code(protocol::ErrorCode::COORDINATOR_NOT_AVAILABLE);
    return responder.send(response);
  }
  std::set<group::GroupState> states;
  bool match_nothing = false;
  if (!request.states_filter.empty()) {
    for (const auto& s : request.states_filter)
      if (auto st = group::parse_state(s)) states.insert(*st);
    match_nothing = states.empty();  // only states no group can be in
  }
  if (!request.types_filter.empty() &&
      std::none_of(request.types_filter.begin(), request.types_filter.end(),
                   [](const std::string& t) { return lower(t) == "classic"; }))
    match_nothing = true;

  std::vector<group::GroupListing> listed;
  response.error_code = protocol::code(groups->list_groups(states, listed));
  if (!match_nothing)
    for (const auto& g : listed) {
      auto& out = response.groups.emplace_back();
      out.group_id = g.group_id;
      out.protocol_type = g.protocol_type;
      out.group_state = group::state_name(g.state);
      out.group_type = "classic";
    }
  responder.send(response);
}

}  // namespace samsa::broker
