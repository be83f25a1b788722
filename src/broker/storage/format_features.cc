// The feature levels `storage format` writes into bootstrap.checkpoint, as
// kafka-storage.sh format decides them: every feature this build supports
// at its default level for a new cluster, with --feature name=level
// overriding one. Level 0 leaves a feature out of the checkpoint (not
// finalized).
#include <charconv>
#include <set>

#include <fmt/format.h>

#include "samsa/broker/features.h"
#include "samsa/broker/storage.h"

namespace samsa::broker {

namespace {

std::string supported_names() {
  std::string names;
  for (const auto& f : supported_features()) names += (names.empty() ? "" : ", ") + std::string(f.name);
  return names;
}

}  // namespace

raft::BootstrapMetadata bootstrap_metadata_for(const std::vector<std::string>& feature_flags,
                                               const std::string& release_version) {
  raft::BootstrapMetadata out;
  for (const auto& f : supported_features()) {
    if (std::string_view(f.name) == "metadata.version")
      out.metadata_version = f.default_level;
    else if (f.default_level > 0)
      out.features[f.name] = f.default_level;
  }
  if (!release_version.empty()) {
    auto mv = metadata_version_of_release(release_version);
    if (!mv)
      throw StorageError(fmt::format("Unknown release version {}: this build supports 3.3-IV3 through 3.9-IV0 "
                                     "(a release such as 3.9, or a metadata version such as 3.7-IV4)",
                                     release_version));
    out.metadata_version = *mv;
    // Kafka finalizes transaction.version 1 and 2 only from 4.0-IV2 on: a
    // cluster formatted as an older release has every other feature off.
    out.features.clear();
  }
  std::set<std::string, std::less<>> seen;
  for (const auto& flag : feature_flags) {
    auto eq = flag.find('=');
    if (eq == std::string::npos || eq == 0)
      throw StorageError(fmt::format("Cannot parse --feature {}: expected name=level, e.g. transaction.version=2", flag));
    std::string name = flag.substr(0, eq);
    std::string_view text = std::string_view(flag).substr(eq + 1);
    int level = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), level);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size())
      throw StorageError(fmt::format("Cannot parse --feature {}: the level {} is not a number", flag, text));
    const SupportedFeature* feature = find_supported_feature(name);
    if (feature == nullptr)
      throw StorageError(fmt::format("Unsupported feature: {}. Supported features are: {}", name, supported_names()));
    if (!seen.insert(name).second) throw StorageError(fmt::format("Feature {} was given more than once", name));
    if (level < feature->min_level || level > feature->max_level)
      throw StorageError(fmt::format("Unsupported level {} for feature {}: this build supports {} through {}", level,
                                     name, feature->min_level, feature->max_level));
    if (name == "metadata.version" && !release_version.empty())
      throw StorageError("Use either --release-version or --feature metadata.version, not both");
    if (name == "metadata.version")
      out.metadata_version = static_cast<int16_t>(level);
    else if (level > 0)
      out.features[name] = static_cast<int16_t>(level);
    else
      out.features.erase(name);
  }
  return out;
}

}  // namespace samsa::broker
