#pragma once
#include <optional>
#include <string>
#include <vector>

#include "samsa/broker/broker_config.h"

namespace samsa::cli {

// Loads and validates a properties file plus --override arguments. On error
// prints one line to stderr and returns nullopt.
std::optional<broker::BrokerConfig> load_config(const std::string& file, const std::vector<std::string>& overrides);

}  // namespace samsa::cli
