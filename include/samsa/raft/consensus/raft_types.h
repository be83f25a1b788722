#pragma once
// Basic value types of the Raft client (KIP-595). Offsets are log offsets (the
// first entry is offset 0; an "end offset" is one past the last entry). Epoch 0
// means "no leader epoch yet": the first elected leader has epoch >= 1.
#include <cstdint>
#include <string>

namespace samsa::raft {

using NodeId = int32_t;
using Epoch = int32_t;
using Offset = int64_t;

inline constexpr NodeId kNoNode = -1;

struct OffsetAndEpoch {
  Offset offset = 0;
  Epoch epoch = 0;
  bool operator==(const OffsetAndEpoch&) const = default;
};

// One record batch of the replicated log, reduced to what consensus needs.
// `control` marks the LeaderChange entry a new leader writes first (Kafka's
// LeaderChangeMessage control batch): it lets the leader commit in its own
// epoch before any client write.
struct Entry {
  Epoch epoch = 0;
  bool control = false;
  std::string data;
  bool operator==(const Entry&) const = default;
};

enum class Role { kUnattached, kProspective, kCandidate, kLeader, kFollower, kResigned };

const char* role_name(Role r);

}  // namespace samsa::raft
