#include <array>

#include "samsa/broker/handlers.h"

namespace samsa::broker {

using protocol::ApiKey;

std::span<const ApiHandler> api_handlers() {
  // Versions are Apache Kafka 4.0's ranges for what each handler implements.
  static constexpr std::array<ApiHandler, 3> kHandlers = {{
      {ApiKey::Metadata, 0, 12, true, false, &handle_metadata},
      {ApiKey::ApiVersions, 0, 4, true, true, &handle_api_versions},
      {ApiKey::DescribeCluster, 0, 1, true, true, &handle_describe_cluster},
  }};
  return kHandlers;
}

const ApiHandler* find_handler(int16_t key, ListenerKind listener) {
  for (const auto& h : api_handlers()) {
    if (static_cast<int16_t>(h.key) != key) continue;
    bool served = listener == ListenerKind::kBroker ? h.broker_listener : h.controller_listener;
    return served ? &h : nullptr;
  }
  return nullptr;
}

}  // namespace samsa::broker
