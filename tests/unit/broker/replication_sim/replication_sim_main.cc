// Runs the partition replication simulation from the command line.
//   replication_sim --seed N                one seed (replays a failure exactly)
//   replication_sim --seeds N [--first S]   seeds S..S+N-1 (S defaults to 1)
//   --steps N        simulated steps of faults per seed (5 ms each)
//   --trace          elections, ISR changes, truncations and faults to stderr
//   --ack-on-append  the deliberately broken rule (acks=-1 answered at the
//                    leader's append): the checker must report lost records
//   --ignore-divergence  another one: followers never truncate
// Exit status 0 iff every seed passed. Each failure prints its seed.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "replication_sim.h"

int main(int argc, char** argv) {
  using samsa::broker::replica::sim::SimOptions;
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
    else if (a == "--steps") base.steps = static_cast<int>(value());
    else if (a == "--trace") base.trace = true;
    else if (a == "--ack-on-append") base.ack_on_append = true;
    else if (a == "--ignore-divergence") base.ignore_divergence = true;
    else {
      std::fprintf(stderr, "usage: %s [--seed N | --seeds N [--first S]] [--steps N] [--trace] [--ack-on-append] "
                           "[--ignore-divergence]\n",
                   argv[0]);
      return 2;
    }
  }
  uint64_t failed = 0;
  int64_t acked = 0, refused = 0, elections = 0, crashes = 0, isolations = 0, truncations = 0;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    SimOptions o = base;
    o.seed = seed;
    auto r = samsa::broker::replica::sim::run_replication_sim(o);
    acked += r.acked, refused += r.refused, elections += r.elections, crashes += r.crashes;
    isolations += r.isolations, truncations += r.truncations;
    if (!r.ok) {
      ++failed;
      std::printf("seed %llu FAILED: %s\n", static_cast<unsigned long long>(seed), r.failure.c_str());
    }
  }
  std::printf("%llu seeds, %llu failed; acknowledged %lld, refused %lld, elections %lld, crashes %lld, "
              "isolations %lld, truncations %lld\n",
              static_cast<unsigned long long>(count), static_cast<unsigned long long>(failed),
              static_cast<long long>(acked), static_cast<long long>(refused), static_cast<long long>(elections),
              static_cast<long long>(crashes), static_cast<long long>(isolations),
              static_cast<long long>(truncations));
  return failed == 0 ? 0 : 1;
}
