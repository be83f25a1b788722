#pragma once
// KIP-853 dynamic voters: the voter set is a property of the replicated log.
// A Voters control record (control type 6, Kafka's VotersRecord as the
// value) at offset O makes its voters the voter set from O on. As in Kafka,
// a node uses the newest voter set in its log as soon as it is appended,
// committed or not, and goes back to the previous one when truncation removes
// it. VoterSetHistory keeps (offset -> set) for one node's log.
//
// Threading: none of its own; owned by the thread that drives the RaftClient.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "samsa/protocol/gen/voters_record.h"
#include "samsa/raft/consensus/raft_types.h"

namespace samsa::raft {

// Kafka's ControlRecordType.KRAFT_VERSION and ControlRecordType.KRAFT_VOTERS.
inline constexpr int16_t kKRaftVersionControlType = 5;
inline constexpr int16_t kVotersControlType = 6;

// One voter as a VotersRecord names it: id, directory id, endpoints, the
// kraft.version range it supports. Consensus uses only the id; the server
// uses the endpoints to reach it.
using Voter = protocol::VotersRecord::Voter;

std::vector<NodeId> voter_ids(const std::vector<Voter>& voters);
// A voter known only by id (static controller.quorum.voters, the simulation).
Voter voter_with_id(NodeId id);

// The VotersRecord value (version 0) and back; nullopt if undecodable.
std::string encode_voters_record(const std::vector<Voter>& voters);
std::optional<std::vector<Voter>> decode_voters_record(const std::string& value);
// The voter set an entry sets, if it is a Voters control entry (its last record counts).
std::optional<std::vector<Voter>> voters_of(const Entry& entry);
// An entry holding one Voters control record.
Entry voters_entry(const std::vector<Voter>& voters);

class VoterSetHistory {
 public:
  // `initial`: the set in force before any Voters record (static voters, or
  // the bootstrap snapshot's).
  explicit VoterSetHistory(std::vector<Voter> initial = {}) : initial_(std::move(initial)) {}

  // The voter set in force after everything the log holds.
  const std::vector<Voter>& latest() const;
  // Where the newest Voters record is (-1: none, the initial set is in force).
  Offset latest_offset() const { return changes_.empty() ? -1 : changes_.rbegin()->first; }
  // The set in force after every entry below `offset` (what a snapshot at
  // `offset` records): set by the newest Voters record below it.
  const std::vector<Voter>& at(Offset offset) const;

  // `entry` was appended at `base`: records its voter set if it has one.
  void on_append(Offset base, const Entry& entry);
  // The log lost every entry at and above `offset`.
  void on_truncate(Offset offset);
  // The log was replaced by a snapshot at `offset` (covering the entries
  // below it) whose voter set is `voters`
  // (nullopt: the snapshot names none; the initial set stays in force).
  void reset(Offset offset, std::optional<std::vector<Voter>> voters);

 private:
  std::vector<Voter> initial_;
  std::map<Offset, std::vector<Voter>> changes_;
};

}  // namespace samsa::raft
