#pragma once
// The controller role on this node: every metadata change goes through
// commit(), one at a time. `decide` looks at the latest image and returns
// the records to write (from metadata/controller.h); commit() appends them
// to the __cluster_metadata log as one batch and returns once the batch is
// committed by the quorum and applied to this node's image (so a handler
// that answers after commit() never tells a client about a change the
// broker cannot see).
//
// Only the active controller (the Raft leader) commits; elsewhere, or when
// leadership is lost while waiting, commit() fails with kNotController.
// Errors are values here and become Kafka error codes in to_api_error().
#include <functional>
#include <memory>
#include <variant>
#include <vector>

#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata/records.h"
#include "samsa/broker/metadata/replica_placer.h"
#include "samsa/broker/metadata_image.h"

namespace samsa::broker {

enum class ControllerError {
  kNotController,  // not the active controller, or leadership lost before the write committed
  kTimedOut,       // the write did not commit in time (its fate is unknown)
  kStorageFailed,  // the metadata log could not be written
  kTooLarge,       // the records do not fit in one metadata batch
};

// Kafka's code for each error: NOT_CONTROLLER, REQUEST_TIMED_OUT,
// REQUEST_TIMED_OUT, UNKNOWN_SERVER_ERROR (with a message).
metadata::ApiError to_api_error(ControllerError error);

// The image after the records were applied, or why they were not.
using CommitResult = std::variant<std::shared_ptr<const MetadataImage>, ControllerError>;

class ControllerService {
 public:
  using Decide = std::function<std::vector<metadata::RecordAndVersion>(const MetadataImage& image)>;

  virtual ~ControllerService() = default;
  // Returns the image after the records were applied (the current image if
  // `decide` returned none; `decide` runs only on the active controller).
  // Blocks until the batch is applied or fails: never call it from the
  // metadata listener thread.
  virtual CommitResult commit(const Decide& decide) = 0;

  // True while this node is the active controller: commit() can succeed
  // here. A broker listener forwards controller APIs elsewhere otherwise.
  virtual bool active() const { return true; }

  // Server defaults for controller decisions (num.partitions, ...).
  virtual const metadata::ControllerDefaults& defaults() const = 0;
  // Replica placement for new partitions. Not thread-safe: use it only
  // inside a `decide` function, which commit() runs one at a time.
  virtual metadata::ReplicaPlacer& placer() = 0;
};

}  // namespace samsa::broker
