#pragma once
// The controller role on this node: every metadata change goes through
// commit(), one at a time. `decide` looks at the latest image and returns
// the records to write (from metadata/controller.h); commit() appends them
// to the __cluster_metadata log as one batch, makes it durable, applies it
// and publishes the new image before it returns, so a handler that answers
// after commit() never tells a client about a change the broker cannot see.
//
// Single-voter quorum: the leader's durable append is the commit.
#include <functional>
#include <memory>
#include <vector>

#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata/records.h"
#include "samsa/broker/metadata/replica_placer.h"
#include "samsa/broker/metadata_image.h"

namespace samsa::broker {

class ControllerService {
 public:
  using Decide = std::function<std::vector<metadata::RecordAndVersion>(const MetadataImage& image)>;

  virtual ~ControllerService() = default;
  // Returns the image after the records were applied (the current image if
  // `decide` returned none). Throws std::runtime_error if the metadata log
  // cannot be written; the caller answers with a retriable error.
  virtual std::shared_ptr<const MetadataImage> commit(const Decide& decide) = 0;

  // Server defaults for controller decisions (num.partitions, ...).
  virtual const metadata::ControllerDefaults& defaults() const = 0;
  // Replica placement for new partitions. Not thread-safe: use it only
  // inside a `decide` function, which commit() runs one at a time.
  virtual metadata::ReplicaPlacer& placer() = 0;
};

}  // namespace samsa::broker
