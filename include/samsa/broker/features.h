#pragma once
// Feature flags this broker supports (ApiVersions v3+ SupportedFeatures) and
// the metadata.version level a new cluster is formatted with.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace samsa::broker {

struct SupportedFeature {
  const char* name;
  int16_t min_level;
  int16_t max_level;
};

// metadata.version 3.9-IV0: the records this build writes are at the versions
// that level defines.
constexpr int16_t kLatestMetadataVersion = 21;
// 3.3-IV3, the first production KRaft level.
constexpr int16_t kMinimumKraftMetadataVersion = 7;

std::span<const SupportedFeature> supported_features();

// Kafka's rule for ClientSoftwareName/Version in ApiVersions v3+:
// alphanumerics, '.' and '-', starting and ending with an alphanumeric.
bool valid_software_token(std::string_view token);

}  // namespace samsa::broker
