#pragma once
// The replicated state machine of the simulation: every node applies its
// committed entries to one, snapshots it, and loads snapshots fetched from
// the leader. The state is a digest of everything applied, so two states are
// equal only if they applied the same entries.
#include <cstdint>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "samsa/raft/consensus/memory_log.h"

namespace samsa::raft::sim {

struct SimState {
  Offset applied = 0;   // everything below is applied (a batch boundary)
  Epoch last_epoch = 0;  // epoch of the last applied entry
  uint64_t digest = 0xcbf29ce484222325ull;  // FNV-1a over epochs and records, in order
  int64_t records = 0;  // data records applied

  void apply(const MemoryLog::Batch& b) {
    mix(std::to_string(b.entry.epoch));
    for (const auto& r : b.entry.records) mix(r);
    if (!b.entry.control) records += b.entry.size();
    applied = b.end();
    last_epoch = b.entry.epoch;
  }
  std::string encode() const { return fmt::format("{} {} {} {}", applied, last_epoch, digest, records); }
  static std::optional<SimState> decode(const std::string& s) {
    SimState st;
    unsigned long long digest = 0;
    long long applied = 0, records = 0;
    int epoch = 0;
    if (std::sscanf(s.c_str(), "%lld %d %llu %lld", &applied, &epoch, &digest, &records) != 4) return std::nullopt;
    st.applied = applied;
    st.last_epoch = epoch;
    st.digest = digest;
    st.records = records;
    return st;
  }
  bool operator==(const SimState&) const = default;

 private:
  void mix(const std::string& s) {
    for (unsigned char c : s) digest = (digest ^ c) * 0x100000001b3ull;
    digest = (digest ^ 0xff) * 0x100000001b3ull;  // separator
  }
};

}  // namespace samsa::raft::sim
