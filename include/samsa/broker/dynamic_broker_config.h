#pragma once
// Dynamic broker configs (Kafka's DynamicBrokerConfig): the BROKER "<node id>"
// and BROKER "" config resources of the metadata image, applied to the running
// broker on each published image, in Kafka's order: per-broker dynamic >
// cluster-default dynamic > server.properties > default.
//
// Two routes reach running components:
//  - the log defaults (log.segment.bytes, log.retention.*, ...): the
//    ReplicaManager derives every log's config from the image itself
//    (effective_log_config.h), so topic and broker changes apply in one step;
//  - everything else: components implement Reconfigurable and register here;
//    on_image() calls them when the effective value of one of their keys
//    changes (and once when they register).
// A key Kafka allows to change dynamically is accepted by AlterConfigs only
// if one of these routes applies it (applies()); otherwise the request is
// refused rather than stored and described as in force.
//
// Threads: add_reconfigurable / remove_reconfigurable / applies / validate are
// safe from any thread. on_image() calls are serialised; Reconfigurable
// callbacks run on the thread that calls on_image (the metadata publisher)
// and must not block on the network threads.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "samsa/broker/metadata_image.h"
#include "samsa/broker/topic_config.h"

namespace samsa::broker {

struct BrokerConfig;

// Effective values of a component's keys; nullopt = null (unset, no default).
using EffectiveValues = std::map<std::string, std::optional<std::string>, std::less<>>;

// A component whose settings can change while the broker runs (Kafka's
// org.apache.kafka.common.Reconfigurable).
class Reconfigurable {
 public:
  virtual ~Reconfigurable() = default;
  // The broker keys this component applies while running.
  virtual std::vector<std::string> reconfigurable_configs() const = 0;
  // Checked before AlterConfigs stores `value` for one of its keys: a reason
  // to refuse it (the request fails with INVALID_REQUEST), or nullopt.
  virtual std::optional<std::string> validate_reconfiguration(std::string_view /*key*/,
                                                              std::string_view /*value*/) const {
    return std::nullopt;
  }
  // The effective values of all its keys, after one of them changed.
  virtual void reconfigure(const EffectiveValues& values) = 0;
};

// A Reconfigurable from functions, for components that expose a setter:
//   dynamic.add_reconfigurable(make_reconfigurable(
//       {"max.connections"}, [&](const EffectiveValues& v) { server.set_max_connections(...); }));
using ReconfigureFn = std::function<void(const EffectiveValues&)>;
using ValidateFn = std::function<std::optional<std::string>(std::string_view key, std::string_view value)>;
std::shared_ptr<Reconfigurable> make_reconfigurable(std::vector<std::string> keys, ReconfigureFn reconfigure,
                                                    ValidateFn validate = nullptr);

class DynamicBrokerConfig {
 public:
  // `config` must outlive this object.
  DynamicBrokerConfig(const BrokerConfig& config, int32_t node_id);

  // Registers `r` and, if an image was seen, calls r->reconfigure at once
  // with the values in force (so a value set before start-up applies too).
  void add_reconfigurable(std::shared_ptr<Reconfigurable> r);
  void remove_reconfigurable(const Reconfigurable* r);

  // True if a dynamic value of `key` reaches the running broker.
  bool applies(std::string_view key) const;
  // The registered components' verdict on a proposed value of `key`.
  std::optional<std::string> validate(std::string_view key, std::string_view value) const;

  // Applies the BROKER config resources of `image`.
  void on_image(const MetadataImage& image);

  // The layers of the last image seen (static only before the first).
  BrokerConfigLayers layers() const;

 private:
  EffectiveValues values_for(const Reconfigurable& r, const BrokerConfigLayers& layers) const;

  const BrokerConfig& config_;
  const int32_t node_id_;
  mutable std::mutex mu_;  // guards the members below
  std::vector<std::shared_ptr<Reconfigurable>> reconfigurables_;
  std::map<const Reconfigurable*, EffectiveValues> applied_;
  BrokerConfigLayers layers_;
  bool seen_image_ = false;
  std::mutex apply_mu_;  // serialises on_image and the first reconfigure of a new component
};

// applies() of `registry`, or (without one, e.g. in handler unit tests) the
// keys the logs apply.
bool applies_dynamically(const DynamicBrokerConfig* registry, std::string_view key);

}  // namespace samsa::broker
