#pragma once
// ReplicaFetcherOptions from the broker's configuration and metadata: the
// replica.fetch.* keys, num.replica.fetchers, broker.rack, this broker's
// epoch and each leader's inter-broker endpoint as the current image has
// them. Kept apart from replica_fetcher_manager.h so the fetcher itself
// depends on neither the config nor the image.
#include <functional>
#include <memory>
#include <string>

#include "samsa/broker/replica/replica_fetcher_manager.h"

namespace samsa::broker {

struct BrokerConfig;
struct MetadataImage;

namespace replica {

// `image` returns the current metadata image (never null); `partition`
// the hosted partition (ReplicaManager::get). The endpoint is the leader's
// `inter.broker.listener.name` listener, nullopt while the leader is not
// registered or is fenced.
ReplicaFetcherOptions replica_fetcher_options(
    const BrokerConfig& config, int32_t node_id, std::function<std::shared_ptr<const MetadataImage>()> image,
    std::function<std::shared_ptr<Partition>(const std::string& topic, int32_t partition)> partition);

}  // namespace replica
}  // namespace samsa::broker
