#pragma once
// The dynamic max.connections / max.connections.per.ip /
// max.connections.per.ip.overrides configs, applied to the running network
// layer's limits (Kafka's DynamicConnectionQuota reconfigures the same keys).
// connections.max.idle.ms and queued.max.request.bytes stay static, as in Kafka.
#include <memory>

#include "samsa/broker/dynamic_broker_config.h"

namespace samsa::net {
class ConnectionLimits;
}

namespace samsa::broker {

// `limits` must outlive the returned object's registration.
std::shared_ptr<Reconfigurable> make_connection_limits_reconfigurable(net::ConnectionLimits& limits);

}  // namespace samsa::broker
