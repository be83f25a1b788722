// The replication simulation as unit tests: invariants hold over a range of
// seeds, a seed replays identically, and the checker catches the broken rule.
#include <gtest/gtest.h>

#include "replication_sim.h"

namespace samsa::broker::replica::sim {
namespace {

TEST(ReplicationSim, InvariantsHoldAcrossSeeds) {
  int64_t acked = 0, elections = 0, truncations = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SimOptions o;
    o.seed = seed;
    auto r = run_replication_sim(o);
    ASSERT_TRUE(r.ok) << "seed " << seed << ": " << r.failure << " (replay: replication_sim --seed " << seed
                      << " --trace)";
    acked += r.acked, elections += r.elections, truncations += r.truncations;
  }
  // The seeds exercised what they are meant to: writes, failovers, truncation.
  EXPECT_GT(acked, 1000);
  EXPECT_GT(elections, 10);
  EXPECT_GT(truncations, 0);
}

TEST(ReplicationSim, SameSeedSameRun) {
  SimOptions o;
  o.seed = 7;
  auto a = run_replication_sim(o);
  auto b = run_replication_sim(o);
  EXPECT_EQ(a.ok, b.ok);
  EXPECT_EQ(a.acked, b.acked);
  EXPECT_EQ(a.refused, b.refused);
  EXPECT_EQ(a.elections, b.elections);
  EXPECT_EQ(a.truncations, b.truncations);
}

TEST(ReplicationSim, CheckerCatchesAcksBeforeReplication) {
  int failures = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SimOptions o;
    o.seed = seed;
    o.ack_on_append = true;
    auto r = run_replication_sim(o);
    if (!r.ok) {
      ++failures;
      EXPECT_NE(r.failure.find("acknowledged record"), std::string::npos) << r.failure;
    }
  }
  EXPECT_GT(failures, 0) << "acknowledging at the leader's append lost nothing in 40 seeds: the checker is blind";
}

TEST(ReplicationSim, CheckerCatchesFollowersThatNeverTruncate) {
  int failures = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SimOptions o;
    o.seed = seed;
    o.ignore_divergence = true;
    failures += run_replication_sim(o).ok ? 0 : 1;
  }
  EXPECT_GT(failures, 0) << "followers that never truncate went unnoticed in 20 seeds";
}

}  // namespace
}  // namespace samsa::broker::replica::sim
