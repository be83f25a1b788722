#include "config_loader.h"

#include <cstdio>

#include <fmt/format.h>

namespace samsa::cli {

std::optional<broker::BrokerConfig> load_config(const std::string& file, const std::vector<std::string>& overrides) {
  try {
    auto props = broker::Properties::load_file(file);
    for (const auto& o : overrides) props.apply_override(o);
    return broker::BrokerConfig::from_properties(std::move(props));
  } catch (const broker::ConfigError& e) {
    fmt::print(stderr, "samsa: {}\n", e.what());
    return std::nullopt;
  }
}

}  // namespace samsa::cli
