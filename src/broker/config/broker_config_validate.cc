// Cross-key checks, after Kafka's KafkaConfig.validateValues for KRaft nodes.
// Each failure names the key that has to change, its value and its origin.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "config_internal.h"
#include "samsa/net/connection_limits.h"

namespace samsa::broker::detail {
namespace {

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool is_voter(const BrokerConfig& c) {
  return std::any_of(c.controller_quorum_voters.begin(), c.controller_quorum_voters.end(),
                     [&](const QuorumVoter& v) { return v.id == c.node_id; });
}

std::string_view node_id_key(const ConfigReader& r) { return r.is_set("node.id") || !r.is_set("broker.id") ? "node.id" : "broker.id"; }

std::string voter_ids(const BrokerConfig& c) {
  std::vector<std::string> ids;
  for (const QuorumVoter& v : c.controller_quorum_voters) ids.push_back(std::to_string(v.id));
  return join(ids, ",");
}

std::string listener_names(const std::vector<Listener>& listeners) {
  std::vector<std::string> names;
  for (const Listener& l : listeners) names.push_back(l.name);
  return join(names, ",");
}

// Which key the advertised listeners came from: advertised.listeners if set,
// otherwise they were copied from listeners.
std::string_view advertised_key(const ConfigReader& r) {
  return r.raw("advertised.listeners") ? "advertised.listeners" : "listeners";
}

void validate_roles(const BrokerConfig& c, const ConfigReader& r) {
  if (c.controller_quorum_voters.empty() && c.controller_quorum_bootstrap_servers.empty()) {
    r.fail("controller.quorum.voters",
           "either controller.quorum.voters or controller.quorum.bootstrap.servers must list the controllers");
  }
  if (r.is_set("control.plane.listener.name")) {
    r.fail("control.plane.listener.name", "is not supported in KRaft mode");
  }

  std::vector<std::string> names;  // names in `listeners`
  for (const Listener& l : c.listeners) names.push_back(l.name);

  if (!c.is_controller()) {
    if (is_voter(c)) {
      r.fail(node_id_key(r), fmt::format("a node with only the broker role must not be one of the voters in "
                                         "controller.quorum.voters ({})",
                                         voter_ids(c)));
    }
    if (c.controller_listener_names.empty()) {
      r.fail("controller.listener.names", "must name the controller listener when running with only the broker role");
    }
    for (const std::string& name : c.controller_listener_names) {
      if (contains(names, name)) {
        r.fail("listeners", fmt::format("must not contain controller listener {} when running with only the "
                                        "broker role",
                                        name));
      }
      if (!c.listener_security_protocol_map.contains(to_upper(name))) {
        r.fail("controller.listener.names",
               fmt::format("controller listener {} has no entry in listener.security.protocol.map", name));
      }
    }
    return;
  }

  // Controller role (alone or combined with broker).
  if (!c.is_broker()) {
    for (const Listener& l : c.listeners) {
      if (!contains(c.controller_listener_names, l.name)) {
        r.fail("listeners", fmt::format("listener {} is not in controller.listener.names; with only the "
                                        "controller role every listener must be a controller listener",
                                        l.name));
      }
    }
  }
  if (!c.controller_quorum_voters.empty() && !is_voter(c)) {
    r.fail(node_id_key(r), fmt::format("a node with the controller role must be one of the voters in "
                                       "controller.quorum.voters (ids {}; {})",
                                       voter_ids(c), r.origin_text("controller.quorum.voters")));
  }
  if (c.advertised_controller_listeners.empty()) {
    r.fail("controller.listener.names",
           "must contain at least one listener name from listeners when running the controller role");
  }
  for (const std::string& name : c.controller_listener_names) {
    if (!contains(names, name)) {
      r.fail("controller.listener.names",
             fmt::format("{} is not one of the listeners ({}); a controller must listen on every controller "
                         "listener",
                         name, join(names, ",")));
    }
  }
}

void validate_broker_listeners(const BrokerConfig& c, const ConfigReader& r) {
  if (!c.is_broker()) return;
  if (c.advertised_listeners.empty()) {
    r.fail(advertised_key(r), "there must be at least one broker listener that is not in controller.listener.names");
  }
  bool inter_broker_advertised =
      std::any_of(c.advertised_listeners.begin(), c.advertised_listeners.end(),
                  [&](const Listener& l) { return l.name == c.inter_broker_listener_name; });
  if (!inter_broker_advertised) {
    std::string_view key = r.is_set("security.inter.broker.protocol") ? "security.inter.broker.protocol"
                                                                       : "inter.broker.listener.name";
    std::string value = r.raw(key).value_or(c.inter_broker_listener_name);
    r.fail(key, value,
           fmt::format("inter-broker listener {} must be one of the advertised broker listeners ({})",
                       c.inter_broker_listener_name, listener_names(c.advertised_listeners)));
  }
  for (const Listener& l : c.advertised_listeners) {
    bool listened = std::any_of(c.listeners.begin(), c.listeners.end(),
                                [&](const Listener& x) { return x.name == l.name; });
    if (!listened) {
      r.fail("advertised.listeners", fmt::format("listener {} is not defined in listeners ({})", l.name,
                                                 listener_names(c.listeners)));
    }
  }
}

void validate_advertised_hosts(const BrokerConfig& c, const ConfigReader& r) {
  auto bad = [](const Listener& l) { return l.host == "0.0.0.0"; };
  if (std::any_of(c.advertised_listeners.begin(), c.advertised_listeners.end(), bad) ||
      std::any_of(c.advertised_controller_listeners.begin(), c.advertised_controller_listeners.end(), bad)) {
    r.fail(advertised_key(r), "cannot advertise the non-routable address 0.0.0.0; use a routable address");
  }
}

void validate_logs(const BrokerConfig& c, const ConfigReader& r) {
  if (c.log_roll_ms < 1) r.fail("log.roll.ms", "must be at least 1");
  if (c.log_retention_ms == 0) {
    std::string_view key = r.raw("log.retention.ms")        ? "log.retention.ms"
                           : r.raw("log.retention.minutes") ? "log.retention.minutes"
                                                            : "log.retention.hours";
    r.fail(key, "retention must be -1 (unlimited) or at least 1 ms");
  }
  std::string_view dirs_key = r.raw("log.dirs") ? "log.dirs" : "log.dir";
  if (c.log_dirs.empty()) r.fail(dirs_key, "at least one log directory must be given in log.dirs or log.dir");
  // Kafka's log manager refuses to start with the same directory twice.
  std::set<std::string> seen;
  for (const std::string& dir : c.log_dirs) {
    if (!seen.insert(dir).second) r.fail(dirs_key, fmt::format("log directory {} is listed twice", dir));
  }
}

void validate_replication(const BrokerConfig& c, const ConfigReader& r) {
  if (c.replica_fetch_wait_max_ms > c.replica_socket_timeout_ms) {
    r.fail("replica.fetch.wait.max.ms",
           fmt::format("must not exceed replica.socket.timeout.ms ({}), or replica fetches would time out",
                       c.replica_socket_timeout_ms));
  }
  if (c.replica_fetch_wait_max_ms > c.replica_lag_time_max_ms) {
    r.fail("replica.fetch.wait.max.ms",
           fmt::format("must not exceed replica.lag.time.max.ms ({}), or followers would keep dropping out of "
                       "the ISR",
                       c.replica_lag_time_max_ms));
  }
}

// As Kafka's ConnectionQuotas: overrides must parse, and a zero default is
// only meaningful when some address is let in by an override.
void validate_connection_limits(const BrokerConfig& c, const ConfigReader& r) {
  std::string error;
  auto overrides = net::parse_ip_overrides(c.max_connections_per_ip_overrides, &error);
  if (!overrides) r.fail("max.connections.per.ip.overrides", error);
  if (c.max_connections_per_ip == 0 && overrides->by_address.empty()) {
    r.fail("max.connections.per.ip",
           "can be set to zero only if max.connections.per.ip.overrides is set");
  }
}

}  // namespace

void validate_broker_config(const BrokerConfig& c, const ConfigReader& r) {
  validate_connection_limits(c, r);
  validate_roles(c, r);
  validate_broker_listeners(c, r);
  validate_advertised_hosts(c, r);
  validate_logs(c, r);
  validate_replication(c, r);
}

}  // namespace samsa::broker::detail
