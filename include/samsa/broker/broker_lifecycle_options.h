#pragma once
// Both sides of KIP-631 configured from server.properties: what the broker
// registers (advertised listeners, supported features, broker.rack, the
// directory ids of its log dirs) and how often it heartbeats
// (broker.heartbeat.interval.ms), and the controller's
// broker.session.timeout.ms.
#include <string>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_lifecycle_manager.h"
#include "samsa/broker/broker_lifecycle_service.h"

namespace samsa::broker {

// Reads meta.properties of every log dir for its directory.id (dirs without
// one are left out, as Broker::register_self did).
BrokerLifecycleManager::Options broker_lifecycle_options(const BrokerConfig& config, const std::string& cluster_id);

// session_timeout_ms only; the caller sets active_epoch / next_offset from
// its MetadataRaft and controller.
BrokerLifecycleService::Options broker_lifecycle_service_options(const BrokerConfig& config);

}  // namespace samsa::broker
