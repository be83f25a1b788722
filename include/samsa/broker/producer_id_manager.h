#pragma once
// Hands out producer ids for InitProducerId, as a KRaft broker's
// ProducerIdManager does: ids come from a block of
// metadata::kProducerIdBlockSize reserved by a ProducerIdsRecord in the
// metadata log, so an id is never handed out twice, across restarts too.
// When the block runs out the next one is committed through the controller.
//
// Thread-safe; the lock is held across the (rare) metadata commit so that
// concurrent callers wait for one new block instead of reserving several.
#include <cstdint>
#include <mutex>

#include "samsa/broker/metadata/records.h"

namespace samsa::broker {

class ControllerService;

struct ProducerIdResult {
  int64_t producer_id = -1;
  metadata::ApiError error;  // COORDINATOR_LOAD_IN_PROGRESS if no block could be had (retriable)
};

class ProducerIdManager {
 public:
  ProducerIdManager(ControllerService& controller, int32_t node_id) : controller_(controller), node_id_(node_id) {}

  ProducerIdResult generate();

 private:
  ControllerService& controller_;
  const int32_t node_id_;
  std::mutex mu_;
  int64_t next_ = 0;  // next id of the current block
  int64_t end_ = 0;   // end of the current block (exclusive); next_ == end_: none left
};

}  // namespace samsa::broker
