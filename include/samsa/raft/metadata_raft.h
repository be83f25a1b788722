#pragma once
// The seam between the Raft quorum that replicates `__cluster_metadata` and
// the code that uses it (the controller, which writes, and the metadata
// loader of every node, which applies what is committed). Implemented by
// RaftManager (src/raft/server) over RaftClient; unit tests of the
// controller use a fake. Kafka's equivalent is RaftClient + RaftClient.Listener.
//
// A controller write is one batch of framed metadata records
// (metadata_record_frame.h): it is appended, replicated and applied as a
// unit, and occupies one offset per record, as in Kafka.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "samsa/raft/consensus/raft_types.h"

namespace samsa::raft {

struct LeaderAndEpoch {
  NodeId leader_id = kNoNode;  // kNoNode while no leader is known
  Epoch epoch = 0;
  bool operator==(const LeaderAndEpoch&) const = default;
};

// One committed batch, delivered to listeners in offset order.
struct CommittedBatch {
  Offset base_offset = 0;
  Offset last_offset = 0;  // base_offset + number of records - 1
  Epoch epoch = 0;         // the leader epoch that appended it
  int64_t append_time_ms = 0;
  bool control = false;              // LeaderChange and other control batches: no metadata records
  std::vector<std::string> records;  // framed metadata records; empty when control
};

// Receives the committed metadata log. All calls come from one thread that
// belongs to the MetadataRaft (not its Raft I/O thread), in order, so a
// listener may block briefly (apply an image, create partition dirs) without
// stalling elections; a listener that falls behind only delays itself.
class MetadataListener {
 public:
  virtual ~MetadataListener() = default;
  // Replace all state with a snapshot of the records below `id.offset`
  // (`id.epoch` is the epoch of the last included record). Called first at
  // start-up when a snapshot exists, and again whenever this node has to
  // catch up from a newer snapshot than its log.
  virtual void handle_load_snapshot(OffsetAndEpoch id, const std::vector<std::string>& records) = 0;
  // Every committed batch after the loaded snapshot (or from offset 0), once.
  virtual void handle_commit(const CommittedBatch& batch) = 0;
  // The known leader or epoch changed. On the node that became leader it is
  // called only after every batch committed in earlier epochs has been
  // delivered through handle_commit, so the new active controller starts
  // from the complete committed state.
  virtual void handle_leader_change(LeaderAndEpoch leader) = 0;
};

enum class AppendError {
  kNotLeader,  // this node is not the leader of the given epoch (any more)
  kTooLarge,   // the batch exceeds what one append may carry
  kIoError,    // the metadata log could not be written; the node is failing
};

class MetadataRaft {
 public:
  virtual ~MetadataRaft() = default;
  // Before the quorum starts; the listener must outlive it.
  virtual void register_listener(MetadataListener* listener) = 0;
  // Thread-safe from here on.
  virtual NodeId node_id() const = 0;
  virtual LeaderAndEpoch leader() const = 0;
  virtual Offset high_watermark() const = 0;
  // Appends `records` as one batch if this node leads `epoch`. Returns the
  // offset of the batch's last record; the batch is committed when a
  // listener sees it in handle_commit. A batch appended in an epoch that
  // ends before it commits may be lost (the new leader truncates it).
  virtual std::variant<Offset, AppendError> append(Epoch epoch, std::vector<std::string> records) = 0;
  // Stores a snapshot of the committed state below `id.offset`; `records`
  // rebuild that state. Requires id.offset <= the high watermark and an id
  // newer than the latest snapshot. Log segments wholly below the snapshot
  // may then be removed.
  virtual void create_snapshot(OffsetAndEpoch id, std::vector<std::string> records) = 0;
};

}  // namespace samsa::raft
