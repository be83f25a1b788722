#pragma once
// The controller state machine in the simulation (the issue's "controller on
// top of Raft"): the active controller decides metadata records with the
// broker's own controller functions (register_broker, fence_broker,
// create_topics, delete_topics, incremental_alter_configs) on its image, and
// every node applies committed entries with metadata::MetadataDelta, loads
// snapshots made of metadata::image_to_records, and is compared against the
// image built from the committed log.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "samsa/broker/metadata_image.h"
#include "samsa/raft/consensus/memory_log.h"
#include "sim_state.h"
#include "sim_support.h"

namespace samsa::raft::sim {

using ImagePtr = std::shared_ptr<const broker::MetadataImage>;

// An empty image of the simulated cluster.
ImagePtr empty_image();
// `base` with every record of `entry` applied (control entries change nothing).
ImagePtr apply_entry(const ImagePtr& base, const MemoryLog::Batch& entry);
// The image as canonical bytes: its image_to_records, framed, length-prefixed.
// Two images are equal iff these are.
std::string canonical(const broker::MetadataImage& image);
// The image rebuilt from canonical bytes (what loading a snapshot does).
ImagePtr image_from_canonical(const std::string& bytes);

// A snapshot's content: the digest state and, in controller mode, the
// canonical image; split back by decode_snapshot.
std::string encode_snapshot(const SimState& state, const ImagePtr& image);
struct DecodedSnapshot {
  SimState state;
  std::string image_bytes;  // empty when the run has no controller
};
std::optional<DecodedSnapshot> decode_snapshot(const std::string& content);

// One write of the active controller: the framed records of one decision on
// `image` (the committed image plus its own uncommitted writes), or nothing
// when the decision produced no records. `next_offset` is where the entry
// will land (a registration's broker epoch).
std::vector<std::string> controller_write(const broker::MetadataImage& image, Offset next_offset, SimRandom& rng);

}  // namespace samsa::raft::sim
