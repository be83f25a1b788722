#pragma once
// Hands out producer ids for InitProducerId, as a KRaft broker's
// ProducerIdManager does: ids come from a block of
// metadata::kProducerIdBlockSize reserved by a ProducerIdsRecord in the
// metadata log, so an id is never handed out twice, across restarts too.
// When the block runs out the next one is committed through the local
// controller when it is the active one, else asked of the active
// controller with AllocateProducerIds through the ControllerChannel.
//
// Thread-safe; the lock is held across the (rare) block request so that
// concurrent callers wait for one new block instead of reserving several.
// generate() may block up to kBlockRequestTimeout: call it off the network
// threads (InitProducerId runs on the controller thread).
#include <chrono>
#include <cstdint>
#include <mutex>

#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata/records.h"

namespace samsa::broker {

class ControllerChannel;
class ControllerService;
class MetadataCache;

struct ProducerIdResult {
  int64_t producer_id = -1;
  metadata::ApiError error;  // COORDINATOR_LOAD_IN_PROGRESS if no block could be had (retriable)
};

class ProducerIdManager {
 public:
  static constexpr std::chrono::milliseconds kBlockRequestTimeout{10'000};

  ProducerIdManager(ControllerService& controller, int32_t node_id) : controller_(controller), node_id_(node_id) {}
  // The way to a remote active controller, and the image that holds this
  // broker's epoch. Set before use; both must outlive this object.
  void set_controller_channel(ControllerChannel* channel, const MetadataCache* metadata) {
    channel_ = channel;
    metadata_ = metadata;
  }

  ProducerIdResult generate();

 private:
  metadata::AllocateProducerIdsResult allocate_here();
  metadata::AllocateProducerIdsResult allocate_remotely();

  ControllerService& controller_;
  const int32_t node_id_;
  ControllerChannel* channel_ = nullptr;
  const MetadataCache* metadata_ = nullptr;
  std::mutex mu_;
  int64_t next_ = 0;  // next id of the current block
  int64_t end_ = 0;   // end of the current block (exclusive); next_ == end_: none left
};

}  // namespace samsa::broker
