#pragma once
// The voter set a dynamic controller quorum (KIP-853) starts from.
//
// `samsa storage format --standalone` or `--initial-controllers` writes it,
// as Kafka's `kafka-storage.sh format` does, into the metadata log directory:
//
//   <metadata.log.dir>/__cluster_metadata-0/00000000000000000000-0000000000.checkpoint
//
// a KRaft snapshot with the bootstrap id (end offset 0, epoch 0) that holds
// only control records: one control batch with SnapshotHeaderRecord (type 3),
// KRaftVersionRecord (type 5, kraft.version 1) and VotersRecord (type 6),
// then a control batch with SnapshotFooterRecord (type 4). Kafka's nodes read
// the same file, and Samsa's can read one Kafka wrote.
//
// A node whose `controller.quorum.voters` is empty takes its initial voters
// from read_bootstrap_voters(); a node formatted with
// `--no-initial-controllers` has no such file and learns the voters from the
// replicated log (it joins with AddRaftVoter).
//
// Plain functions, no state: callable from any thread.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "samsa/protocol/uuid.h"
#include "samsa/raft/consensus/raft_types.h"

namespace samsa::raft {

inline constexpr const char* kClusterMetadataPartitionDir = "__cluster_metadata-0";
inline constexpr const char* kBootstrapSnapshotFile = "00000000000000000000-0000000000.checkpoint";

struct VoterEndpoint {
  std::string listener;  // controller listener name, e.g. CONTROLLER
  std::string host;
  uint16_t port = 0;
  bool operator==(const VoterEndpoint&) const = default;
};

struct BootstrapVoter {
  NodeId id = kNoNode;
  protocol::Uuid directory_id;  // the directory.id of that node's metadata log dir
  std::vector<VoterEndpoint> endpoints;
  int16_t min_kraft_version = 0;  // the kraft.version range the voter supports
  int16_t max_kraft_version = 1;
  bool operator==(const BootstrapVoter&) const = default;
};

struct BootstrapVoters {
  int16_t kraft_version = 1;
  std::vector<BootstrapVoter> voters;
  bool operator==(const BootstrapVoters&) const = default;
};

// Parses Kafka's `--initial-controllers` syntax: comma-separated
// `id@host:port:directoryId` (host may be a bracketed IPv6 address; the
// directory id is a Kafka Uuid in base64). Every endpoint gets
// `listener_name`. Throws std::invalid_argument naming the bad entry, for an
// empty list, a negative id, a bad port or directory id, or an id or a
// directory id given twice.
std::vector<BootstrapVoter> parse_initial_controllers(std::string_view text, const std::string& listener_name);

// The path of the bootstrap snapshot under `metadata_dir`.
std::string bootstrap_voters_path(const std::string& metadata_dir);

// Creates __cluster_metadata-0 if needed and writes the snapshot atomically.
// Throws std::system_error on I/O failure.
void write_bootstrap_voters(const std::string& metadata_dir, const BootstrapVoters& voters);

// The voter set in the bootstrap snapshot of `metadata_dir`, or nullopt when
// the node was formatted without one (static `controller.quorum.voters`, or
// `--no-initial-controllers`). Throws std::runtime_error naming the file when
// it exists but is corrupt or has no VotersRecord.
std::optional<BootstrapVoters> read_bootstrap_voters(const std::string& metadata_dir);

}  // namespace samsa::raft
