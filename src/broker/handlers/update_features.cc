// UpdateFeatures (key 57, v0-1 as Kafka 4.0): changes finalized feature
// levels (kafka-features.sh upgrade/downgrade/disable). The active
// controller decides (metadata::update_features) and answers once the
// FeatureLevelRecords are committed and applied, so the ApiVersions this
// node answers next already shows the new levels; brokers forward it there
// like the other controller APIs. v0's AllowDowngrade is v1's UpgradeType
// SAFE_DOWNGRADE (true) or UPGRADE (false), as Kafka reads it. The outcome is
// all or nothing: the top-level error, repeated in every feature's result.
#include "config_resources.h"
#include "controller_forwarding.h"
#include "samsa/broker/features.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/metadata/feature_control.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/update_features_request.h"
#include "samsa/protocol/gen/update_features_response.h"

namespace samsa::broker {

using metadata::ApiError;
using protocol::UpdateFeaturesRequest;
using protocol::UpdateFeaturesResponse;

namespace {

std::vector<metadata::FeatureUpdate> feature_updates(const UpdateFeaturesRequest& request, int16_t version) {
  std::vector<metadata::FeatureUpdate> updates;
  for (const auto& f : request.feature_updates) {
    metadata::FeatureUpdate u;
    u.name = f.feature;
    u.level = f.max_version_level;
    if (version == 0)
      u.upgrade_type = static_cast<int8_t>(f.allow_downgrade ? metadata::FeatureUpgradeType::kSafeDowngrade
                                                             : metadata::FeatureUpgradeType::kUpgrade);
    else
      u.upgrade_type = f.upgrade_type;
    updates.push_back(std::move(u));
  }
  return updates;
}

UpdateFeaturesResponse response_for(const UpdateFeaturesRequest& request, const ApiError& error) {
  UpdateFeaturesResponse response;
  response.error_code = admin::error_code(error);
  response.error_message = admin::error_message(error);
  for (const auto& f : request.feature_updates) {
    UpdateFeaturesResponse::UpdatableFeatureResult r;
    r.feature = f.feature;
    r.error_code = response.error_code;
    r.error_message = response.error_message;
    response.results.push_back(std::move(r));
  }
  return response;
}

UpdateFeaturesResponse update_here(const RequestContext& ctx, const UpdateFeaturesRequest& request) {
  const auto updates = feature_updates(request, ctx.api_version);
  const bool validate_only = ctx.api_version >= 1 && request.validate_only;
  ApiError decided;
  ApiError failure = admin::run_controller_op(
      *ctx.services, validate_only, [&](const MetadataImage& image, metadata::ReplicaPlacer&) {
        auto out = metadata::update_features(image, updates, validate_only, supported_features());
        decided = std::move(out.error);
        return std::move(out.records);
      });
  return response_for(request, failure.ok() ? decided : failure);
}

}  // namespace

void handle_update_features(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<UpdateFeaturesRequest>(body, ctx.api_version);
  admin::ForwardingOps<UpdateFeaturesResponse> ops;
  ops.local = [&] { return update_here(ctx, request); };
  ops.not_controller = [](const UpdateFeaturesResponse& r) {
    return r.error_code == protocol::code(protocol::ErrorCode::NOT_CONTROLLER);
  };
  ops.all_failed = [request](protocol::ErrorCode code) { return response_for(request, ApiError{code, ""}); };
  admin::serve_controller_api(ctx, request, std::move(responder), std::chrono::milliseconds(request.timeout_ms),
                              std::move(ops));
}

}  // namespace samsa::broker
