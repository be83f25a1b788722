#pragma once
// Feature flags this broker supports (ApiVersions v3+ SupportedFeatures, the
// ranges a broker registers with) and the levels a new cluster is formatted
// with. Kafka 4.0's features and levels (KIP-584, KIP-778, KIP-890).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace samsa::broker {

struct SupportedFeature {
  const char* name;
  int16_t min_level;
  int16_t max_level;
  // The level `storage format` finalizes in a new cluster unless told
  // otherwise (Kafka: the latest production level of its release).
  int16_t default_level;
};

// metadata.version 3.9-IV0: the records this build writes are at the versions
// that level defines.
constexpr int16_t kLatestMetadataVersion = 21;
// 3.3-IV3, the first production KRaft level.
constexpr int16_t kMinimumKraftMetadataVersion = 7;

// transaction.version: 0 = the classic protocol, 1 = KIP-890 part 1 (the
// partition leader verifies a transactional write with the coordinator),
// 2 = KIP-890 part 2 (an epoch bump per transaction, implicit
// AddPartitionsToTxn). Clients use the part 2 request versions only when
// ApiVersions shows it finalized at 2 or more.
inline constexpr std::string_view kTransactionVersionFeature = "transaction.version";
constexpr int16_t kLatestTransactionVersion = 2;

std::span<const SupportedFeature> supported_features();

// The metadata.version level of a Kafka release or of one of its
// metadata versions ("3.7" is its last, 3.7-IV4; "3.5-IV1"), for
// `storage format --release-version`; nullopt outside 3.3-IV3 .. 3.9-IV0.
std::optional<int16_t> metadata_version_of_release(std::string_view release);
// nullptr for a feature this build does not know.
const SupportedFeature* find_supported_feature(std::string_view name);

// Kafka's rule for ClientSoftwareName/Version in ApiVersions v3+:
// alphanumerics, '.' and '-', starting and ending with an alphanumeric.
bool valid_software_token(std::string_view token);

}  // namespace samsa::broker
