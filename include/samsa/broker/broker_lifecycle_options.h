#pragma once
// Both sides of KIP-631 configured from server.properties: what the broker
// registers (advertised listeners, supported features, broker.rack, the
// directory ids of its log dirs) and how often it heartbeats
// (broker.heartbeat.interval.ms), and the controller's
// broker.session.timeout.ms.
#include <memory>
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

namespace samsa::broker::metadata {
class MetadataLoader;
}

namespace samsa::broker {

class QuorumController;
class Scheduler;

// The controller role's service: active while `loader` reports this node as
// the active controller, broker epochs from the controller's next offset.
std::unique_ptr<BrokerLifecycleService> make_broker_lifecycle_service(const BrokerConfig& config,
                                                                      QuorumController& controller,
                                                                      const metadata::MetadataLoader& loader);

// The broker role's manager: timers on `scheduler`, the applied offset from
// `metadata` (the published image). Call start() on it.
std::unique_ptr<BrokerLifecycleManager> make_broker_lifecycle_manager(const BrokerConfig& config,
                                                                      const std::string& cluster_id,
                                                                      ControllerChannel& channel, Scheduler& scheduler,
                                                                      const MetadataCache& metadata);

}  // namespace samsa::broker
