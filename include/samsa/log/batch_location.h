#pragma once
#include <cstdint>

#include "samsa/protocol/record_batch.h"

namespace samsa::log {

// Where one batch lies in a segment's .log file, from its header alone.
struct BatchLocation {
  uint64_t position;
  protocol::RecordBatchHeader header;
  uint64_t end() const { return position + header.size_in_bytes(); }
};

}  // namespace samsa::log
