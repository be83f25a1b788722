#pragma once
// Small helpers the group API handlers share.
#include <string>

#include "samsa/broker/broker_services.h"
#include "samsa/broker/group/group_coordinator.h"
#include "samsa/broker/request_context.h"

namespace samsa::broker::group {

// The coordinator, or nullptr on a node without the broker role.
inline GroupCoordinator* coordinator(const RequestContext& ctx) {
  return ctx.services ? ctx.services->groups : nullptr;
}

// Kafka reports a member's host as InetAddress.toString(): "/<address>".
inline std::string client_host(const RequestContext& ctx) {
  if (!ctx.connection) return "/";
  const std::string& peer = ctx.connection->peer;
  auto colon = peer.rfind(':');
  std::string host = colon == std::string::npos ? peer : peer.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return "/" + host;
}

}  // namespace samsa::broker::group
