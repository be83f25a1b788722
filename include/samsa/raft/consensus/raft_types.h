#pragma once
// Basic value types of the Raft client (KIP-595). Offsets are log offsets (the
// first entry is offset 0; an "end offset" is one past the last entry). Epoch 0
// means "no leader epoch yet": the first elected leader has epoch >= 1.
#include <cstdint>
#include <string>
#include <vector>

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
// As in Kafka's metadata log, a batch of N records occupies N consecutive
// offsets and is appended, replicated, truncated and committed as a unit:
// every offset the client deals in (fetch offsets, end offsets, the high
// watermark, truncation points) is a batch boundary.
// `control` marks a control batch; the LeaderChange batch a new leader writes
// first (control_type 2, Kafka's LeaderChangeMessage as the value) lets the
// leader commit in its own epoch before any client write.
struct Entry {
  Epoch epoch = 0;
  bool control = false;
  int16_t control_type = 0;          // Kafka ControlRecordType of every record when control
  std::vector<std::string> records;  // the record values; size() >= 1 offsets
  // The batch's timestamp: stamped once by the leader's log when it appends
  // (-1 until then) and carried by Fetch, so every replica writes the very
  // bytes the leader wrote (same CRC), as Kafka's followers do.
  int64_t timestamp_ms = -1;
  Offset size() const { return static_cast<Offset>(records.size()); }
  // The same entry whatever its timestamp: consensus compares content.
  bool operator==(const Entry& o) const {
    return epoch == o.epoch && control == o.control && control_type == o.control_type && records == o.records;
  }
};

// Kafka's ControlRecordType.LEADER_CHANGE.
inline constexpr int16_t kLeaderChangeControlType = 2;

enum class Role { kUnattached, kProspective, kCandidate, kLeader, kFollower, kResigned };

const char* role_name(Role r);

}  // namespace samsa::raft
