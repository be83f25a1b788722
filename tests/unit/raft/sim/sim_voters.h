#pragma once
// KIP-853 in the simulation: a snapshot's content carries the voter set in
// force at its offset (as Kafka's snapshots carry a VotersRecord), appended
// to its first line as " voters=1,2,3" (SimState::decode ignores it). A
// snapshot without it was taken while the initial set was in force.
#include <optional>
#include <string>
#include <vector>

#include "samsa/raft/consensus/voter_set.h"

namespace samsa::raft::sim {

std::string snapshot_with_voters(std::string content, const std::vector<NodeId>& voters);
// The voter set a snapshot's content names; nullopt if it names none.
std::optional<std::vector<Voter>> snapshot_voters(const std::string& content);

}  // namespace samsa::raft::sim
