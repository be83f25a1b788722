#pragma once
// UpdateFeatures on the active controller (Kafka's FeatureControlManager):
// decides whether a set of finalized-feature changes may be made and returns
// the FeatureLevelRecords that make them. All or nothing: the first update
// that breaks a rule fails the whole request and no record is written.
//
// Rules, as Kafka's:
//  - the upgrade type is 1 (UPGRADE), 2 (SAFE_DOWNGRADE) or 3
//    (UNSAFE_DOWNGRADE); UPGRADE may only keep or raise a level, the
//    downgrade types may only keep or lower it;
//  - the level is within the range this controller supports (every
//    controller runs this build: Samsa has no ControllerRegistrationRecord)
//    and within the range every registered broker registered with; a broker
//    that did not list the feature supports level 0 only;
//  - level 0 removes the feature (not finalized any more);
//  - metadata.version may be raised within 7..21 but never lowered (Samsa
//    writes no downgrade records).
// Every failure is INVALID_UPDATE_VERSION ("Invalid update version L for
// feature F. <why>"), except a feature named twice (INVALID_REQUEST).
//
// Pure: no I/O, no locks.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "samsa/broker/features.h"
#include "samsa/broker/metadata/records.h"
#include "samsa/broker/metadata_image.h"

namespace samsa::broker::metadata {

enum class FeatureUpgradeType : int8_t {
  kUpgrade = 1,
  kSafeDowngrade = 2,
  kUnsafeDowngrade = 3,
};

struct FeatureUpdate {
  std::string name;
  int16_t level = 0;
  int8_t upgrade_type = static_cast<int8_t>(FeatureUpgradeType::kUpgrade);  // as on the wire
};

struct UpdateFeaturesResult {
  ApiError error;                        // NONE, or why nothing changes
  std::vector<RecordAndVersion> records;  // empty on error or validate_only
};

// `controller_features`: what the controller quorum supports
// (supported_features() in production).
UpdateFeaturesResult update_features(const MetadataImage& image, std::span<const FeatureUpdate> updates,
                                     bool validate_only, std::span<const SupportedFeature> controller_features);

}  // namespace samsa::broker::metadata
