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

bool valid_software_token(std::string_view token) {
  if (token.empty()) return false;
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!alnum(token.front()) || !alnum(token.back())) return false;
  for (char c : token)
    if (!alnum(c) && c != '.' && c != '-') return false;
  return true;
}

}  // namespace samsa::broker
