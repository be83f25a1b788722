#include "samsa/broker/features.h"

#include <array>
#include <cctype>

namespace samsa::broker {

std::span<const SupportedFeature> supported_features() {
  static constexpr std::array<SupportedFeature, 2> kFeatures = {{
      {"metadata.version", kMinimumKraftMetadataVersion, kLatestMetadataVersion, kLatestMetadataVersion},
      {"transaction.version", 0, kLatestTransactionVersion, kLatestTransactionVersion},
  }};
  return kFeatures;
}

const SupportedFeature* find_supported_feature(std::string_view name) {
  for (const auto& f : supported_features())
    if (name == f.name) return &f;
  return nullptr;
}

std::optional<int16_t> metadata_version_of_release(std::string_view release) {
  // Kafka's MetadataVersion names, level 7 (3.3-IV3) up to this build's latest.
  static constexpr std::array<const char*, kLatestMetadataVersion - kMinimumKraftMetadataVersion + 1> kNames = {
      "3.3-IV3", "3.4-IV0", "3.5-IV0", "3.5-IV1", "3.5-IV2", "3.6-IV0", "3.6-IV1", "3.6-IV2",
      "3.7-IV0", "3.7-IV1", "3.7-IV2", "3.7-IV3", "3.7-IV4", "3.8-IV0", "3.9-IV0",
  };
  std::optional<int16_t> found;
  for (size_t i = 0; i < kNames.size(); ++i) {
    std::string_view name = kNames[i];
    // A bare release ("3.7") names its last metadata version.
    if (name == release || name.substr(0, name.find('-')) == release)
      found = static_cast<int16_t>(kMinimumKraftMetadataVersion + i);
  }
  return found;
}

bool valid_software_token(std::string_view token) {
  if (token.empty()) return false;
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!alnum(token.front()) || !alnum(token.back())) return false;
  for (char c : token)
    if (!alnum(c) && c != '.' && c != '-') return false;
  return true;
}

}  // namespace samsa::broker
