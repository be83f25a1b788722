#pragma once
// Replica placement for new partitions, after Kafka's StripedReplicaPlacer:
// racks and the brokers within them are visited round-robin from a random
// starting point, leaders are always unfenced brokers, fenced brokers only
// fill replica slots when there are not enough unfenced ones, and after a
// full round the order is shuffled so repeated creations spread out.
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "samsa/broker/metadata/records.h"
#include "samsa/broker/metadata_image.h"

namespace samsa::broker::metadata {

using Assignment = std::vector<std::vector<int32_t>>;  // replicas per partition, leader first

class ReplicaPlacer {
 public:
  ReplicaPlacer();  // seeded from std::random_device
  explicit ReplicaPlacer(uint64_t seed) : rng_(seed) {}

  // Replicas for `count` new partitions, or INVALID_REPLICATION_FACTOR (with
  // Kafka's message) when the brokers cannot host `replication_factor` copies.
  // Brokers in controlled shutdown are not used.
  std::variant<Assignment, ApiError> place(const MetadataImage& image, int32_t count, int32_t replication_factor);

  uint64_t next_random(uint64_t bound);  // uniform in [0, bound)

 private:
  std::mt19937_64 rng_;
};

}  // namespace samsa::broker::metadata
