// Runs the Raft simulation from the command line.
//   raft_sim --seed N            one seed (replays a failure exactly)
//   raft_sim --seeds N [--first S]  seeds S..S+N-1 (S defaults to 1)
//   --trace                      role changes and faults to stderr
//   --grant-multiple-votes       the deliberately broken rule
//   --corrupt-snapshots          nodes store wrong snapshots (the checker must fail)
//   --no-refusals                a failed connection is silence, never a refusal
//   --controller / --no-controller  metadata state machine in every / no seed
//                                (default: a quarter of the seeds, chosen by the seed)
//   --voter-changes / --no-voter-changes  KIP-853 add/remove of voters in every / no seed
//                                (default: half the seeds, chosen by the seed)
// Exit status 0 iff every seed passed. Each failure prints its seed.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sim_cluster.h"

int main(int argc, char** argv) {
  using samsa::raft::sim::SimOptions;
  uint64_t first = 1, count = 1;
  SimOptions base;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> uint64_t {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::strtoull(argv[++i], nullptr, 10);
    };
    if (a == "--seed") first = value(), count = 1;
    else if (a == "--seeds") count = value();
    else if (a == "--first") first = value();
    else if (a == "--voters") base.voters = static_cast<int>(value());
    else if (a == "--observers") base.observers = static_cast<int>(value());
    else if (a == "--trace") base.trace = true;
    else if (a == "--grant-multiple-votes") base.grant_multiple_votes = true;
    else if (a == "--corrupt-snapshots") base.corrupt_snapshots = true;
    else if (a == "--controller") base.controller = 1;
    else if (a == "--no-controller") base.controller = 0;
    else if (a == "--voter-changes") base.voter_changes = 1;
    else if (a == "--no-voter-changes") base.voter_changes = 0;
    else if (a == "--no-refusals") base.refusals = false;
    else {
      std::fprintf(stderr, "usage: %s [--seed N | --seeds N [--first S]] [--voters N] [--observers N] [--trace] "
                           "[--grant-multiple-votes] [--corrupt-snapshots] [--no-refusals] [--controller | --no-controller] "
                           "[--voter-changes | --no-voter-changes]\n", argv[0]);
      return 2;
    }
  }
  uint64_t failed = 0;
  std::vector<int64_t> failovers;  // seeds whose newest leader died for good at the heal
  int64_t leaders = 0, committed = 0, crashes = 0, partitions = 0, snapshots = 0, controller = 0, images = 0,
          voter_changes = 0;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    SimOptions o = base;
    o.seed = seed;
    auto r = samsa::raft::sim::run_simulation(o);
    leaders += r.leaders_elected;
    committed += r.committed;
    crashes += r.crashes;
    partitions += r.partitions;
    snapshots += r.snapshots_loaded;
    controller += r.controller;
    images += r.images_compared;
    voter_changes += r.voter_changes;
    if (r.failover_ms >= 0) failovers.push_back(r.failover_ms);
    if (!r.ok) {
      ++failed;
      std::printf("FAILED seed %llu: %s (replay: --seed %llu)\n", static_cast<unsigned long long>(seed),
                  r.failure.c_str(), static_cast<unsigned long long>(seed));
    }
  }
  std::printf("%llu seeds, %llu failed; leaders elected %lld, offsets committed %lld, crashes %lld, "
              "partitions %lld, snapshots fetched %lld; controller seeds %lld, images compared %lld; voter changes %lld\n",
              static_cast<unsigned long long>(count), static_cast<unsigned long long>(failed),
              static_cast<long long>(leaders), static_cast<long long>(committed), static_cast<long long>(crashes),
              static_cast<long long>(partitions), static_cast<long long>(snapshots),
              static_cast<long long>(controller), static_cast<long long>(images),
              static_cast<long long>(voter_changes));
  if (!failovers.empty()) {
    std::sort(failovers.begin(), failovers.end());
    auto at = [&](double p) { return failovers[static_cast<size_t>(p * static_cast<double>(failovers.size() - 1))]; };
    std::printf("leader killed at the heal in %zu seeds: new leader after p50 %lld ms, p99 %lld ms, max %lld ms "
                "(fetch timeout 200 ms)\n",
                failovers.size(), static_cast<long long>(at(0.5)), static_cast<long long>(at(0.99)),
                static_cast<long long>(failovers.back()));
  }
  return failed == 0 ? 0 : 1;
}
