#include "samsa/broker/dynamic_broker_config.h"

#include <algorithm>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/effective_log_config.h"
#include "samsa/util/logging.h"

namespace samsa::broker {
namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.server.DynamicBrokerConfig");
  return l;
}

class FunctionReconfigurable : public Reconfigurable {
 public:
  FunctionReconfigurable(std::vector<std::string> keys, ReconfigureFn reconfigure, ValidateFn validate)
      : keys_(std::move(keys)), reconfigure_(std::move(reconfigure)), validate_(std::move(validate)) {}
  std::vector<std::string> reconfigurable_configs() const override { return keys_; }
  std::optional<std::string> validate_reconfiguration(std::string_view key, std::string_view value) const override {
    return validate_ ? validate_(key, value) : std::nullopt;
  }
  void reconfigure(const EffectiveValues& values) override { reconfigure_(values); }

 private:
  const std::vector<std::string> keys_;
  const ReconfigureFn reconfigure_;
  const ValidateFn validate_;
};

}  // namespace

std::shared_ptr<Reconfigurable> make_reconfigurable(std::vector<std::string> keys, ReconfigureFn reconfigure,
                                                    ValidateFn validate) {
  return std::make_shared<FunctionReconfigurable>(std::move(keys), std::move(reconfigure), std::move(validate));
}

DynamicBrokerConfig::DynamicBrokerConfig(const BrokerConfig& config, int32_t node_id)
    : config_(config), node_id_(node_id) {
  layers_.static_broker = static_broker_layer(config);
}

EffectiveValues DynamicBrokerConfig::values_for(const Reconfigurable& r, const BrokerConfigLayers& layers) const {
  EffectiveValues values;
  for (const std::string& key : r.reconfigurable_configs()) values[key] = effective_broker_value(layers, key);
  return values;
}

void DynamicBrokerConfig::add_reconfigurable(std::shared_ptr<Reconfigurable> r) {
  std::lock_guard apply_lock(apply_mu_);
  BrokerConfigLayers layers;
  bool seen = false;
  {
    std::lock_guard lock(mu_);
    reconfigurables_.push_back(r);
    layers = layers_;
    seen = seen_image_;
  }
  if (!seen) return;
  EffectiveValues values = values_for(*r, layers);
  r->reconfigure(values);
  std::lock_guard lock(mu_);
  applied_[r.get()] = std::move(values);
}

void DynamicBrokerConfig::remove_reconfigurable(const Reconfigurable* r) {
  std::lock_guard apply_lock(apply_mu_);
  std::lock_guard lock(mu_);
  std::erase_if(reconfigurables_, [&](const auto& p) { return p.get() == r; });
  applied_.erase(r);
}

bool DynamicBrokerConfig::applies(std::string_view key) const {
  if (applied_by_logs(key)) return true;
  std::lock_guard lock(mu_);
  for (const auto& r : reconfigurables_) {
    auto keys = r->reconfigurable_configs();
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) return true;
  }
  return false;
}

std::optional<std::string> DynamicBrokerConfig::validate(std::string_view key, std::string_view value) const {
  std::lock_guard lock(mu_);
  for (const auto& r : reconfigurables_) {
    auto keys = r->reconfigurable_configs();
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) continue;
    if (auto reason = r->validate_reconfiguration(key, value)) return reason;
  }
  return std::nullopt;
}

void DynamicBrokerConfig::on_image(const MetadataImage& image) {
  std::lock_guard apply_lock(apply_mu_);
  BrokerConfigLayers layers = broker_config_layers(image, node_id_, config_);
  std::vector<std::shared_ptr<Reconfigurable>> targets;
  std::map<const Reconfigurable*, EffectiveValues> previous;
  {
    std::lock_guard lock(mu_);
    if (seen_image_ && layers.dynamic_broker == layers_.dynamic_broker &&
        layers.dynamic_default == layers_.dynamic_default)
      return;
    layers_ = layers;
    seen_image_ = true;
    targets = reconfigurables_;
    previous = applied_;
  }
  for (const auto& r : targets) {
    EffectiveValues values = values_for(*r, layers);
    auto it = previous.find(r.get());
    if (it != previous.end() && it->second == values) continue;
    try {
      r->reconfigure(values);
    } catch (const std::exception& e) {
      // The value was validated before it was stored; a component that still
      // cannot take it keeps its old settings, as Kafka's reconfigure does.
      log()->error("Applying a dynamic broker config failed: {}", e.what());
      continue;
    }
    std::lock_guard lock(mu_);
    applied_[r.get()] = std::move(values);
  }
}

BrokerConfigLayers DynamicBrokerConfig::layers() const {
  std::lock_guard lock(mu_);
  return layers_;
}

bool applies_dynamically(const DynamicBrokerConfig* registry, std::string_view key) {
  return registry != nullptr ? registry->applies(key) : applied_by_logs(key);
}

}  // namespace samsa::broker
