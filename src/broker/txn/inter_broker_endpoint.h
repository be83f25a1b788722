#pragma once
// Where a broker's inter-broker listener is, from the metadata image: what
// the marker channel and the verification manager connect to.
#include <optional>
#include <string>

#include "samsa/broker/metadata_image.h"
#include "samsa/net/kafka_client.h"

namespace samsa::broker::txn {

// nullopt for a broker that is not registered, fenced, or has no such
// listener (the caller retries later).
inline std::optional<net::Endpoint> inter_broker_endpoint(const MetadataImage& image, int32_t broker_id,
                                                          const std::string& listener) {
  auto it = image.brokers.find(broker_id);
  if (it == image.brokers.end() || it->second.fenced) return std::nullopt;
  const BrokerEndpoint* e = it->second.endpoint(listener);
  if (e == nullptr) return std::nullopt;
  // A listener bound to every interface registers an empty host: loopback
  // reaches it (as the replica fetchers do).
  return net::Endpoint{e->host.empty() ? std::string("127.0.0.1") : e->host, e->port};
}

}  // namespace samsa::broker::txn
