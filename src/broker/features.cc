#include "samsa/broker/features.h"

#include <array>
#include <cctype>

namespace samsa::broker {

std::span<const SupportedFeature> supported_features() {
  static constexpr std::array<SupportedFeature, 1> kFeatures = {{
      {"metadata.version", kMinimumKraftMetadataVersion, kLatestMetadataVersion},
  }};
  return kFeatures;
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
