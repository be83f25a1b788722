#pragma once
#include <cstdint>
#include <vector>

namespace samsa::protocol {

// A tagged field this build does not know: kept as raw bytes so it survives
// decode -> encode unchanged.
struct TaggedField {
  uint32_t tag = 0;
  std::vector<uint8_t> data;
  bool operator==(const TaggedField&) const = default;
};

}  // namespace samsa::protocol
