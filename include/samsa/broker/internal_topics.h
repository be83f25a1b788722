#pragma once
// Kafka's internal topics (Topic.isInternal): written only by the broker's
// own coordinators, never auto-created, and marked internal in Metadata.
#include <string_view>

namespace samsa::broker {

inline bool is_internal_topic(std::string_view name) {
  return name == "__consumer_offsets" || name == "__transaction_state" || name == "__share_group_state";
}

}  // namespace samsa::broker
