#include "samsa/broker/broker_lifecycle_options.h"

#include <algorithm>

#include "samsa/broker/features.h"
#include "samsa/broker/meta_properties.h"
#include "samsa/broker/metadata/metadata_loader.h"
#include "samsa/broker/quorum_controller.h"
#include "samsa/broker/scheduler.h"

namespace samsa::broker {

BrokerLifecycleManager::Options broker_lifecycle_options(const BrokerConfig& config, const std::string& cluster_id) {
  BrokerLifecycleManager::Options o;
  o.node_id = config.node_id;
  o.cluster_id = cluster_id;
  o.rack = config.broker_rack;
  for (const auto& l : config.advertised_listeners)
    o.listeners.push_back(BrokerEndpoint{l.name, l.host, l.port, l.security_protocol});
  for (const auto& f : supported_features()) o.features.push_back({f.name, {f.min_level, f.max_level}});
  for (const auto& dir : config.log_dirs) {
    auto meta = MetaProperties::read(dir);
    if (meta && meta->directory_id) o.log_dirs.push_back(*meta->directory_id);
  }
  if (config.broker_heartbeat_interval_ms > 0) o.heartbeat_interval_ms = config.broker_heartbeat_interval_ms;
  // One request may cross a controller failover (the channel retries
  // NOT_CONTROLLER until then), but a heartbeat must not wait longer than
  // the session it keeps alive.
  int64_t session = config.broker_session_timeout_ms > 0 ? config.broker_session_timeout_ms : 9000;
  o.request_timeout_ms = std::max<int64_t>(o.heartbeat_interval_ms, session / 2);
  return o;
}

BrokerLifecycleService::Options broker_lifecycle_service_options(const BrokerConfig& config) {
  BrokerLifecycleService::Options o;
  if (config.broker_session_timeout_ms > 0) o.session_timeout_ms = config.broker_session_timeout_ms;
  return o;
}

std::unique_ptr<BrokerLifecycleService> make_broker_lifecycle_service(const BrokerConfig& config,
                                                                      QuorumController& controller,
                                                                      const metadata::MetadataLoader& loader) {
  BrokerLifecycleService::Options o = broker_lifecycle_service_options(config);
  o.active_epoch = [&loader]() -> std::optional<int32_t> { return loader.active_epoch(); };
  o.next_offset = [&controller](const MetadataImage&) { return controller.next_offset(); };
  return std::make_unique<BrokerLifecycleService>(controller, std::move(o));
}

std::unique_ptr<BrokerLifecycleManager> make_broker_lifecycle_manager(const BrokerConfig& config,
                                                                      const std::string& cluster_id,
                                                                      ControllerChannel& channel, Scheduler& scheduler,
                                                                      const MetadataCache& metadata) {
  return std::make_unique<BrokerLifecycleManager>(
      channel,
      [&scheduler](std::chrono::milliseconds delay, std::function<void()> fn) {
        scheduler.schedule(delay, std::move(fn));
      },
      [&metadata] { return metadata.current()->offset; }, broker_lifecycle_options(config, cluster_id));
}

}  // namespace samsa::broker
