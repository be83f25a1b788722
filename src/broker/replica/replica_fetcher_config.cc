#include "samsa/broker/replica/replica_fetcher_config.h"

#include "samsa/broker/broker_config.h"
#include "samsa/broker/metadata_image.h"

namespace samsa::broker::replica {

ReplicaFetcherOptions replica_fetcher_options(
    const BrokerConfig& config, int32_t node_id, std::function<std::shared_ptr<const MetadataImage>()> image,
    std::function<std::shared_ptr<Partition>(const std::string& topic, int32_t partition)> partition) {
  ReplicaFetcherOptions o;
  o.broker_id = node_id;
  o.num_fetchers = config.num_replica_fetchers;
  o.fetch_max_wait_ms = config.replica_fetch_wait_max_ms;
  o.fetch_min_bytes = config.replica_fetch_min_bytes;
  o.fetch_max_bytes = config.replica_fetch_response_max_bytes;
  o.partition_max_bytes = config.replica_fetch_max_bytes;
  o.backoff_ms = config.replica_fetch_backoff_ms;
  o.socket_timeout_ms = config.replica_socket_timeout_ms;
  o.rack = config.broker_rack;
  // KIP-903: the epoch the controller gave this broker's registration, as
  // the image holds it (the leader checks it before adding us to the ISR).
  o.broker_epoch = [image, node_id]() -> int64_t {
    auto img = image();
    auto it = img->brokers.find(node_id);
    return it == img->brokers.end() ? -1 : it->second.epoch;
  };
  o.endpoint = [image, listener = config.inter_broker_listener_name](
                   int32_t broker_id) -> std::optional<std::pair<std::string, uint16_t>> {
    auto img = image();
    auto it = img->brokers.find(broker_id);
    if (it == img->brokers.end() || it->second.fenced) return std::nullopt;
    const BrokerEndpoint* e = it->second.endpoint(listener);
    if (!e) return std::nullopt;
    // A listener bound to every interface registers an empty host (Kafka
    // registers the canonical host name then): reach it on loopback.
    return std::make_pair(e->host.empty() ? std::string("127.0.0.1") : e->host, e->port);
  };
  o.partition = std::move(partition);
  return o;
}

}  // namespace samsa::broker::replica
