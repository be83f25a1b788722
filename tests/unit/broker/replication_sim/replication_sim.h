#pragma once
// A seeded, deterministic simulation of one partition replicated on three
// brokers: real replica::Partition objects over real logs in a temp dir, a
// simulated clock and network (delays, drops, isolated nodes), and a small
// in-memory controller that applies AlterPartition (Kafka's validation:
// leader epoch, partition epoch, fenced members) and elects leaders from the
// ISR when a broker is fenced. The follower fetch loop and the leader side
// of a follower Fetch are modelled here after handlers/fetch.cc and the
// replica fetcher (diverging epoch -> truncate, then fetch on).
//
// Invariants checked (a violation ends the seed with a message):
//   - an acknowledged record (acks=-1: the high watermark passed it) is
//     never lost: it stays at its offset in every later leader's log;
//   - a leader's high watermark never goes backwards within its epoch;
//   - each replica's log up to its high watermark is a prefix of the
//     leader's log;
//   - after the faults stop and the network heals, every replica is back in
//     the ISR and holds the leader's log.
//
// Threads: single-threaded; one run per call.
#include <cstdint>
#include <string>

namespace samsa::broker::replica::sim {

struct SimOptions {
  uint64_t seed = 1;
  int steps = 2500;        // of kStepMs simulated milliseconds each, with faults
  int min_insync = 2;
  bool trace = false;      // leader changes and faults to stderr
  // The deliberately broken rule: acknowledge acks=-1 writes as soon as the
  // leader appended them (the checker must catch lost records).
  bool ack_on_append = false;
  // Another broken rule: a follower ignores diverging_epoch answers and
  // keeps its log (the checker must see it never converge).
  bool ignore_divergence = false;
};

struct SimResult {
  bool ok = true;
  std::string failure;     // the first invariant violated
  int64_t acked = 0;       // records acknowledged
  int64_t refused = 0;     // produce attempts that failed or timed out
  int elections = 0;
  int crashes = 0;
  int isolations = 0;
  int truncations = 0;     // follower truncations on a diverging epoch
};

SimResult run_replication_sim(const SimOptions& options);

}  // namespace samsa::broker::replica::sim
