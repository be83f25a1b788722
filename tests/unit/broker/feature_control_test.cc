// UpdateFeatures' rules on the active controller (metadata::update_features)
// and the handler end to end on a broker with a fake controller: the levels
// reach ApiVersions' finalized features.
#include "samsa/broker/metadata/feature_control.h"

#include <gtest/gtest.h>

#include "admin_test_fixture.h"
#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata/metadata_delta.h"
#include "samsa/protocol/gen/api_versions_request.h"
#include "samsa/protocol/gen/api_versions_response.h"
#include "samsa/protocol/gen/update_features_request.h"
#include "samsa/protocol/gen/update_features_response.h"

namespace samsa::broker {
namespace {

using metadata::FeatureUpdate;
using protocol::ErrorCode;

constexpr int8_t kUpgrade = 1;
constexpr int8_t kSafe = 2;
constexpr int8_t kUnsafe = 3;

MetadataImage cluster_image(int16_t tv) {
  MetadataImage image;
  image.metadata_version = 19;
  if (tv > 0) image.features["transaction.version"] = tv;
  for (int32_t id : {1, 2, 3}) {
    BrokerRegistration b;
    b.id = id;
    for (const auto& f : supported_features()) b.supported_features[f.name] = {f.min_level, f.max_level};
    image.brokers.emplace(id, b);
  }
  return image;
}

metadata::UpdateFeaturesResult run(const MetadataImage& image, std::vector<FeatureUpdate> updates,
                                   bool validate_only = false) {
  return metadata::update_features(image, updates, validate_only, supported_features());
}

std::shared_ptr<const MetadataImage> replay(const MetadataImage& image,
                                           const std::vector<metadata::RecordAndVersion>& records) {
  metadata::MetadataDelta delta(std::make_shared<const MetadataImage>(image));
  int64_t offset = image.offset + 1;
  for (const auto& r : records) delta.replay(metadata::frame(r), offset++);
  return delta.apply();
}

int16_t level_of(const metadata::RecordAndVersion& r) {
  return std::get<protocol::FeatureLevelRecord>(r.record).feature_level;
}

TEST(FeatureControlTest, BootstrapRecordsFinalizeEveryFeatureOfTheCheckpoint) {
  auto image = replay(MetadataImage{}, metadata::bootstrap_records(21, {{"transaction.version", 2}}));
  EXPECT_EQ(image->metadata_version, 21);
  EXPECT_EQ(image->features.at("transaction.version"), 2);
  EXPECT_EQ(metadata::bootstrap_records(21).size(), 1u);
}

TEST(FeatureControlTest, ABrokerThatCannotRunTheFinalizedTransactionVersionMayNotRegister) {
  auto image = *replay(MetadataImage{}, metadata::bootstrap_records(21, {{"transaction.version", 2}}));
  metadata::BrokerRegistrationInput in;
  in.broker_id = 4;
  in.incarnation_id = protocol::Uuid::random();
  in.listeners = {{"PLAINTEXT", "localhost", 9094, "PLAINTEXT"}};
  in.log_dirs = {protocol::Uuid::random()};
  in.features = {{"metadata.version", {7, 21}}, {"transaction.version", {0, 1}}};
  auto refused = metadata::register_broker(image, in, 10, false);
  EXPECT_EQ(refused.error.code, ErrorCode::UNSUPPORTED_VERSION);
  EXPECT_NE(refused.error.message.find("finalized version 2 of transaction.version"), std::string::npos)
      << refused.error.message;
  in.features.clear();
  for (const auto& f : supported_features()) in.features.push_back({f.name, {f.min_level, f.max_level}});
  EXPECT_TRUE(metadata::register_broker(image, in, 10, false).error.ok());
}

TEST(FeatureControlTest, UpgradeWritesOneFeatureLevelRecord) {
  auto out = run(cluster_image(0), {{"transaction.version", 2, kUpgrade}});
  ASSERT_TRUE(out.error.ok()) << out.error.message;
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_EQ(std::get<protocol::FeatureLevelRecord>(out.records[0].record).name, "transaction.version");
  EXPECT_EQ(level_of(out.records[0]), 2);
}

TEST(FeatureControlTest, UpgradeMayNotLowerAndDowngradesMayNotRaise) {
  auto out = run(cluster_image(2), {{"transaction.version", 1, kUpgrade}});
  EXPECT_EQ(out.error.code, ErrorCode::INVALID_UPDATE_VERSION);
  EXPECT_NE(out.error.message.find("Invalid update version 1 for feature transaction.version"), std::string::npos);
  EXPECT_TRUE(out.records.empty());
  out = run(cluster_image(1), {{"transaction.version", 2, kSafe}});
  EXPECT_EQ(out.error.code, ErrorCode::INVALID_UPDATE_VERSION);
  for (int8_t type : {kSafe, kUnsafe}) {
    out = run(cluster_image(2), {{"transaction.version", 1, type}});
    ASSERT_TRUE(out.error.ok()) << out.error.message;
    EXPECT_EQ(level_of(out.records.at(0)), 1);
  }
}

TEST(FeatureControlTest, LevelZeroDisablesTheFeature) {
  auto image = cluster_image(2);
  auto out = run(image, {{"transaction.version", 0, kSafe}});
  ASSERT_TRUE(out.error.ok()) << out.error.message;
  auto applied = *replay(image, out.records);
  EXPECT_FALSE(applied.features.contains("transaction.version"));
}

TEST(FeatureControlTest, LevelsOutsideTheSupportedRangesAreRefused) {
  EXPECT_EQ(run(cluster_image(0), {{"transaction.version", 3, kUpgrade}}).error.code, ErrorCode::INVALID_UPDATE_VERSION);
  EXPECT_EQ(run(cluster_image(0), {{"transaction.version", -1, kUpgrade}}).error.code,
            ErrorCode::INVALID_UPDATE_VERSION);
  EXPECT_EQ(run(cluster_image(0), {{"no.such.feature", 1, kUpgrade}}).error.code, ErrorCode::INVALID_UPDATE_VERSION);
  EXPECT_EQ(run(cluster_image(0), {{"transaction.version", 1, 0}}).error.code, ErrorCode::INVALID_UPDATE_VERSION);
  EXPECT_EQ(run(cluster_image(0), {{"transaction.version", 1, 4}}).error.code, ErrorCode::INVALID_UPDATE_VERSION);
}

TEST(FeatureControlTest, EveryRegisteredBrokerMustSupportTheLevel) {
  auto image = cluster_image(0);
  image.brokers.at(2).supported_features["transaction.version"] = {0, 1};
  auto out = run(image, {{"transaction.version", 2, kUpgrade}});
  EXPECT_EQ(out.error.code, ErrorCode::INVALID_UPDATE_VERSION);
  EXPECT_NE(out.error.message.find("Broker 2 does not support the given version. It supports 0 to 1."),
            std::string::npos)
      << out.error.message;
  EXPECT_TRUE(run(image, {{"transaction.version", 1, kUpgrade}}).error.ok());
  // A broker that did not list the feature supports level 0 only.
  image.brokers.at(3).supported_features.erase("transaction.version");
  out = run(image, {{"transaction.version", 1, kUpgrade}});
  EXPECT_NE(out.error.message.find("Broker 3 does not support this feature."), std::string::npos)
      << out.error.message;
}

TEST(FeatureControlTest, MetadataVersionMayRiseWithinItsRangeButNotFall) {
  auto image = cluster_image(0);
  auto out = run(image, {{"metadata.version", 21, kUpgrade}});
  ASSERT_TRUE(out.error.ok()) << out.error.message;
  EXPECT_EQ(replay(image, out.records)->metadata_version, 21);
  for (int8_t type : {kSafe, kUnsafe})
    EXPECT_EQ(run(image, {{"metadata.version", 18, type}}).error.code, ErrorCode::INVALID_UPDATE_VERSION);
  EXPECT_EQ(run(image, {{"metadata.version", 22, kUpgrade}}).error.code, ErrorCode::INVALID_UPDATE_VERSION);
  EXPECT_EQ(run(image, {{"metadata.version", 0, kUnsafe}}).error.code, ErrorCode::INVALID_UPDATE_VERSION);
}

TEST(FeatureControlTest, AllOrNothingAndValidateOnly) {
  auto image = cluster_image(0);
  auto out = run(image, {{"metadata.version", 20, kUpgrade}, {"transaction.version", 5, kUpgrade}});
  EXPECT_EQ(out.error.code, ErrorCode::INVALID_UPDATE_VERSION);
  EXPECT_TRUE(out.records.empty());
  out = run(image, {{"transaction.version", 2, kUpgrade}}, /*validate_only=*/true);
  EXPECT_TRUE(out.error.ok());
  EXPECT_TRUE(out.records.empty());
  out = run(image, {{"transaction.version", 9, kUpgrade}}, /*validate_only=*/true);
  EXPECT_EQ(out.error.code, ErrorCode::INVALID_UPDATE_VERSION);
  out = run(image, {{"transaction.version", 1, kUpgrade}, {"transaction.version", 2, kUpgrade}});
  EXPECT_EQ(out.error.code, ErrorCode::INVALID_REQUEST);
}

// ---- the handler, on a broker whose fake controller applies the records

class UpdateFeaturesHandlerTest : public test::AdminTest {
 protected:
  UpdateFeaturesHandlerTest() {
    MetadataImage image = *services.metadata.current();
    for (auto& [id, b] : image.brokers)
      for (const auto& f : supported_features()) b.supported_features[f.name] = {f.min_level, f.max_level};
    services.metadata.publish(std::make_shared<const MetadataImage>(image));
  }

  protocol::UpdateFeaturesResponse update(const std::string& name, int16_t level, int8_t type, int16_t version = 1,
                                          bool validate_only = false, bool allow_downgrade = false) {
    protocol::UpdateFeaturesRequest req;
    protocol::UpdateFeaturesRequest::FeatureUpdateKey k;
    k.feature = name;
    k.max_version_level = level;
    k.upgrade_type = type;
    k.allow_downgrade = allow_downgrade;
    req.feature_updates.push_back(k);
    req.validate_only = validate_only;
    return call<protocol::UpdateFeaturesResponse>(57, version, req);
  }

  std::map<std::string, int16_t> finalized(int16_t version = 4) {
    protocol::ApiVersionsRequest req;
    req.client_software_name = "feature-test";
    req.client_software_version = "1.0";
    auto resp = call<protocol::ApiVersionsResponse>(18, version, req);
    std::map<std::string, int16_t> out;
    for (const auto& f : resp.finalized_features) {
      EXPECT_EQ(f.min_version_level, f.max_version_level);
      out[f.name] = f.max_version_level;
    }
    return out;
  }
};

TEST_F(UpdateFeaturesHandlerTest, UpgradeThenApiVersionsShowsIt) {
  EXPECT_EQ(finalized(), (std::map<std::string, int16_t>{{"metadata.version", kLatestMetadataVersion}}));
  auto resp = update("transaction.version", 2, kUpgrade);
  EXPECT_EQ(resp.error_code, 0) << resp.error_message.value_or("");
  ASSERT_EQ(resp.results.size(), 1u);
  EXPECT_EQ(resp.results[0].feature, "transaction.version");
  EXPECT_EQ(resp.results[0].error_code, 0);
  EXPECT_EQ(finalized().at("transaction.version"), 2);
  EXPECT_EQ(finalized(3).at("transaction.version"), 2);
}

TEST_F(UpdateFeaturesHandlerTest, RefusalsAndValidateOnlyChangeNothing) {
  ASSERT_EQ(update("transaction.version", 2, kUpgrade).error_code, 0);
  const int commits = controller.commits;
  auto resp = update("transaction.version", 1, kUpgrade);
  EXPECT_EQ(resp.error_code, protocol::code(ErrorCode::INVALID_UPDATE_VERSION));
  ASSERT_EQ(resp.results.size(), 1u);
  EXPECT_EQ(resp.results[0].error_code, resp.error_code);
  EXPECT_EQ(resp.results[0].error_message, resp.error_message);
  EXPECT_EQ(update("transaction.version", 0, kSafe, 1, /*validate_only=*/true).error_code, 0);
  EXPECT_EQ(controller.commits, commits);
  EXPECT_EQ(finalized().at("transaction.version"), 2);
  EXPECT_EQ(update("transaction.version", 0, kSafe).error_code, 0);
  EXPECT_FALSE(finalized().contains("transaction.version"));
}

TEST_F(UpdateFeaturesHandlerTest, VersionZeroReadsAllowDowngrade) {
  ASSERT_EQ(update("transaction.version", 2, kUpgrade, 0).error_code, 0);
  EXPECT_EQ(update("transaction.version", 1, kUpgrade, 0).error_code,
            protocol::code(ErrorCode::INVALID_UPDATE_VERSION));
  EXPECT_EQ(update("transaction.version", 1, kUpgrade, 0, false, /*allow_downgrade=*/true).error_code, 0);
  EXPECT_EQ(finalized().at("transaction.version"), 1);
}

TEST_F(UpdateFeaturesHandlerTest, WithoutAnActiveControllerNothingChanges) {
  controller.fail = true;
  auto resp = update("transaction.version", 2, kUpgrade);
  EXPECT_NE(resp.error_code, 0);
  EXPECT_FALSE(finalized().contains("transaction.version"));
}

TEST_F(UpdateFeaturesHandlerTest, SupportedFeaturesStartingAtZeroOnlyFromApiVersionsV4) {
  protocol::ApiVersionsRequest req;
  req.client_software_name = "feature-test";
  req.client_software_version = "1.0";
  auto names = [&](int16_t v) {
    std::map<std::string, std::pair<int16_t, int16_t>> out;
    for (const auto& f : call<protocol::ApiVersionsResponse>(18, v, req).supported_features)
      out[f.name] = {f.min_version, f.max_version};
    return out;
  };
  using Range = std::pair<int16_t, int16_t>;
  EXPECT_EQ(names(4).at("transaction.version"), Range(0, 2));
  EXPECT_FALSE(names(3).contains("transaction.version"));  // KAFKA-17492
  EXPECT_TRUE(names(3).contains("metadata.version"));
}

}  // namespace
}  // namespace samsa::broker
