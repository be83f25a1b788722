#include "samsa/broker/metadata/feature_control.h"

#include <set>

#include <fmt/format.h>

namespace samsa::broker::metadata {

using protocol::ErrorCode;

namespace {

ApiError invalid(const FeatureUpdate& u, const std::string& why) {
  return {ErrorCode::INVALID_UPDATE_VERSION,
          fmt::format("Invalid update version {} for feature {}. {}", u.level, u.name, why)};
}

int16_t finalized_level(const MetadataImage& image, std::string_view name) {
  if (name == kMetadataVersionFeature) return image.metadata_version;
  auto it = image.features.find(name);
  return it == image.features.end() ? 0 : it->second;
}

ApiError check(const MetadataImage& image, const FeatureUpdate& u,
               std::span<const SupportedFeature> controller_features) {
  if (u.upgrade_type < static_cast<int8_t>(FeatureUpgradeType::kUpgrade) ||
      u.upgrade_type > static_cast<int8_t>(FeatureUpgradeType::kUnsafeDowngrade))
    return invalid(u, fmt::format("The controller does not support the upgrade type {}.", u.upgrade_type));
  if (u.level < 0) return invalid(u, "A feature version cannot be less than 0.");
  const SupportedFeature* local = nullptr;
  for (const auto& f : controller_features)
    if (u.name == f.name) local = &f;
  if (local == nullptr) return invalid(u, "The controller does not support this feature.");
  if (u.level < local->min_level || u.level > local->max_level)
    return invalid(u, fmt::format("The controller only supports versions {} to {}.", local->min_level,
                                  local->max_level));
  for (const auto& [id, broker] : image.brokers) {
    auto range = broker.supported_features.find(u.name);
    if (range == broker.supported_features.end()) {
      if (u.level > 0) return invalid(u, fmt::format("Broker {} does not support this feature.", id));
    } else if (u.level < range->second.first || u.level > range->second.second) {
      return invalid(u, fmt::format("Broker {} does not support the given version. It supports {} to {}.", id,
                                    range->second.first, range->second.second));
    }
  }
  const int16_t current = finalized_level(image, u.name);
  const bool upgrade = u.upgrade_type == static_cast<int8_t>(FeatureUpgradeType::kUpgrade);
  if (u.level < current && upgrade)
    return invalid(u, "Can't downgrade the version of this feature without setting the upgrade type to either "
                      "safe or unsafe downgrade.");
  if (u.level > current && !upgrade) return invalid(u, "Can't downgrade to a newer version.");
  if (u.name == kMetadataVersionFeature && u.level < current)
    return invalid(u, "Samsa does not support downgrading metadata.version.");
  return ApiError::none();
}

}  // namespace

UpdateFeaturesResult update_features(const MetadataImage& image, std::span<const FeatureUpdate> updates,
                                     bool validate_only, std::span<const SupportedFeature> controller_features) {
  UpdateFeaturesResult out;
  std::set<std::string_view> seen;
  for (const auto& u : updates) {
    if (!seen.insert(u.name).second) {
      out.error = {ErrorCode::INVALID_REQUEST, fmt::format("Feature {} appears more than once in the request.", u.name)};
      out.records.clear();
      return out;
    }
    if (auto e = check(image, u, controller_features); !e.ok()) {
      out.error = std::move(e);
      out.records.clear();
      return out;
    }
    protocol::FeatureLevelRecord r;
    r.name = u.name;
    r.feature_level = u.level;
    out.records.push_back({std::move(r), 0});
  }
  if (validate_only) out.records.clear();
  return out;
}

}  // namespace samsa::broker::metadata
