// ApiVersions (key 18): lists exactly the APIs and versions this listener serves.
#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/features.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/api_versions_request.h"
#include "samsa/protocol/gen/api_versions_response.h"

namespace samsa::broker {

using protocol::ApiVersionsRequest;
using protocol::ApiVersionsResponse;

ApiVersionsResponse api_versions_body(ListenerKind listener, const MetadataImage& image, int16_t version) {
  ApiVersionsResponse response;
  for (const auto& h : api_handlers()) {
    if (listener == ListenerKind::kBroker ? !h.broker_listener : !h.controller_listener) continue;
    ApiVersionsResponse::ApiVersion v;
    v.api_key = static_cast<int16_t>(h.key);
    v.min_version = h.min_version;
    v.max_version = h.max_version;
    response.api_keys.push_back(v);
  }
  for (const auto& f : supported_features()) {
    // Clients before ApiVersions v4 reject a supported range starting at 0
    // (KAFKA-17011); Kafka leaves such features out for them (KAFKA-17492).
    if (version < 4 && f.min_level == 0) continue;
    ApiVersionsResponse::SupportedFeatureKey k;
    k.name = f.name;
    k.min_version = f.min_level;
    k.max_version = f.max_level;
    response.supported_features.push_back(k);
  }
  if (image.metadata_version > 0) {
    response.finalized_features_epoch = image.features_epoch;
    ApiVersionsResponse::FinalizedFeatureKey k;
    k.name = "metadata.version";
    k.min_version_level = image.metadata_version;
    k.max_version_level = image.metadata_version;
    response.finalized_features.push_back(k);
  }
  // Level 0 means "not finalized": the image keeps only levels above it.
  for (const auto& [name, level] : image.features) {
    if (level <= 0) continue;
    ApiVersionsResponse::FinalizedFeatureKey k;
    k.name = name;
    k.min_version_level = level;
    k.max_version_level = level;
    response.finalized_features.push_back(k);
  }
  return response;
}

void handle_api_versions(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  // v3+ requests carry the client's software name and version; Kafka rejects
  // names that are not printable identifiers with INVALID_REQUEST.
  auto request = decode_request<ApiVersionsRequest>(body, ctx.api_version);
  auto image = ctx.services->metadata.current();
  auto response = api_versions_body(ctx.listener_kind, *image, ctx.api_version);
  if (ctx.api_version >= 3 && (!valid_software_token(request.client_software_name) ||
                               !valid_software_token(request.client_software_version))) {
    response = ApiVersionsResponse{};
    response.error_code = protocol::code(protocol::ErrorCode::INVALID_REQUEST);
  }
  responder.send(response);
}

}  // namespace samsa::broker
