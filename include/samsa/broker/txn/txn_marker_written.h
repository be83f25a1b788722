#pragma once
// A COMMIT or ABORT marker was appended (and replicated) on a partition this
// broker leads, by WriteTxnMarkers. The group coordinator listens: on
// __consumer_offsets partitions it turns the producer's pending
// transactional offset commits into committed offsets, or drops them.
#include <cstdint>
#include <string>

namespace samsa::broker::txn {

struct TxnMarkerWritten {
  std::string topic;
  int32_t partition = -1;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  bool commit = false;
  int64_t marker_offset = -1;
};

}  // namespace samsa::broker::txn
