#pragma once
// Deterministic building blocks of the Raft simulation: a seeded generator
// (our own, so a seed replays identically with any standard library), the
// simulated clock and an always-durable quorum-state store.
#include <cstdint>
#include <optional>

#include "samsa/raft/consensus/raft_io.h"

namespace samsa::raft::sim {

// SplitMix64: tiny, fast, and fully specified.
class SimRandom final : public Random {
 public:
  explicit SimRandom(uint64_t seed) : state_(seed) {}
  uint64_t next_u64() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int64_t next(int64_t bound) override {
    return bound <= 0 ? 0 : static_cast<int64_t>(next_u64() % static_cast<uint64_t>(bound));
  }
  bool chance(double p) { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53 < p; }

 private:
  uint64_t state_;
};

class SimTime final : public Time {
 public:
  int64_t now_ms() const override { return now_; }
  void advance(int64_t ms) { now_ += ms; }

 private:
  int64_t now_ = 0;
};

// quorum-state writes are synchronous and durable (as the file store's atomic
// rename + fsync is), so a crash never loses one.
class SimQuorumStateStore final : public QuorumStateStore {
 public:
  std::optional<ElectionState> read() override { return state_; }
  void write(const ElectionState& s) override { state_ = s; }

 private:
  std::optional<ElectionState> state_;
};

}  // namespace samsa::raft::sim
