// samsa-loadgen: a lean Kafka load generator (bench/README.md, "samsa-loadgen").
// Set-up (ApiVersions, CreateTopics, Metadata, ListOffsets, encoding the
// Produce requests) happens before the clock starts; then one thread per
// connection runs the load while this thread samples CPU at the measured
// interval's edges.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "../options.h"  // exit codes, now_ns
#include "cluster.h"
#include "options.h"
#include "workers.h"

namespace samsa::bench::loadgen {
namespace {

constexpr uint64_t kSetupLimitNs = 30'000'000'000;  // leaders and offsets must be ready by then

// Splits each leader's partitions over `connections` connections to it
// (round-robin); connections that would get none are not opened.
std::vector<std::pair<const LeaderPartitions*, std::vector<int32_t>>> plan_connections(
    const std::vector<LeaderPartitions>& leaders, int connections) {
  std::vector<std::pair<const LeaderPartitions*, std::vector<int32_t>>> plan;
  for (const auto& l : leaders) {
    const size_t c = std::min(static_cast<size_t>(connections), l.partitions.size());
    for (size_t i = 0; i < c; ++i) {
      std::vector<int32_t> mine;
      for (size_t j = i; j < l.partitions.size(); j += c) mine.push_back(l.partitions[j]);
      plan.emplace_back(&l, std::move(mine));
    }
  }
  return plan;
}

int auto_ring_size(const Options& o, size_t partitions_per_connection) {
  // One writev may carry `inflight` requests, each with its own correlation
  // id patched in: they must be distinct ring entries.
  if (o.ring > 0) return std::max(o.ring, o.inflight);
  // Enough distinct requests that none repeats within two pipelines, up to
  // ~32 MiB of payload per connection.
  const size_t per_batch = static_cast<size_t>(o.record_size) * o.batch_records;
  const size_t per_request =
      per_batch * (o.batches_per_request > 0
                       ? std::min<size_t>(o.batches_per_request, partitions_per_connection)
                       : partitions_per_connection);
  const int by_memory = static_cast<int>(std::max<size_t>(1, (size_t{32} << 20) / per_request));
  return std::max(2 * o.inflight + 2, std::min(64, by_memory));
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int run(const Options& o) {
  const uint64_t t0 = now_ns();
  RunClock clock;
  clock.hard_ns = t0 + static_cast<uint64_t>(o.timeout_s * 1e9);
  const uint64_t setup_ns = std::min(clock.hard_ns, t0 + kSetupLimitNs);

  std::vector<std::unique_ptr<ProduceWorker>> producers;
  std::vector<std::unique_ptr<FetchWorker>> fetchers;
  try {
    std::unique_ptr<Connection> first;
    std::string why;
    for (const auto& [host, port] : split_bootstrap(o.bootstrap)) {
      try {
        first = std::make_unique<Connection>(host, port, setup_ns);
        break;
      } catch (const ConnectionError& e) {
        why = e.what();
      }
    }
    if (!first) throw ConnectionError(why);
    Connection& boot = *first;
    check_api_versions(boot, o.mode, o.create, setup_ns);
    if (o.create) create_topic(boot, o, setup_ns);
    const auto leaders = find_leaders(boot, o, setup_ns);
    uint64_t seed = static_cast<uint64_t>(t0);
    for (const auto& [leader, parts] : plan_connections(leaders, o.connections)) {
      auto conn = std::make_unique<Connection>(leader->host, leader->port, setup_ns);
      if (o.mode == Mode::kProduce) {
        list_offsets(*conn, o.topic, parts, kLatestTimestamp, setup_ns);  // leaders are ready
        ProduceLayout layout{o.topic, parts, o.batches_per_request, o.record_size,
                             o.batch_records, o.acks, 30000};
        auto ring = build_produce_ring(layout, auto_ring_size(o, parts.size()), seed++, wall_ms());
        producers.push_back(
            std::make_unique<ProduceWorker>(std::move(conn), std::move(ring), o.inflight, o.acks == 0));
      } else {
        auto start = list_offsets(*conn, o.topic, parts,
                                  o.from_earliest ? kEarliestTimestamp : kLatestTimestamp, setup_ns);
        auto end = list_offsets(*conn, o.topic, parts, kLatestTimestamp, setup_ns);
        fetchers.push_back(
            std::make_unique<FetchWorker>(std::move(conn), o, std::move(start), std::move(end)));
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return kExitUnavailable;
  }

  clock.start_ns = now_ns();
  clock.measure_ns = clock.start_ns + static_cast<uint64_t>(o.warmup_s * 1e9);
  clock.end_ns = clock.measure_ns + static_cast<uint64_t>(o.duration_s * 1e9);
  clock.byte_limit = o.bytes;
  RunResult result;
  const bool no_warmup = o.warmup_s <= 0;
  if (no_warmup) result.cpu_start = sample_cpu(o.broker_pids);

  std::atomic<size_t> running{producers.size() + fetchers.size()};
  std::vector<std::thread> threads;
  for (auto& w : producers)
    threads.emplace_back([&clock, &running, w = w.get()] { w->run(clock); --running; });
  for (auto& w : fetchers)
    threads.emplace_back([&clock, &running, w = w.get()] { w->run(clock); --running; });
  if (!no_warmup) {
    while (running > 0 && now_ns() < clock.measure_ns)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    result.cpu_start = sample_cpu(o.broker_pids);
  }
  for (auto& t : threads) t.join();
  const uint64_t end = now_ns();
  if (end >= clock.hard_ns) {
    char what[96];
    std::snprintf(what, sizeof what, "stopped by --timeout-s %g before the end", o.timeout_s);
    result.stats.error(what);
  }
  result.cpu_end = sample_cpu(o.broker_pids);
  result.seconds = end > clock.measure_ns ? static_cast<double>(end - clock.measure_ns) / 1e9 : 0.0;
  for (const auto& w : producers) result.stats.merge(w->stats());
  for (const auto& w : fetchers) result.stats.merge(w->stats());
  if (!o.broker_pids.empty() && !(result.cpu_start.broker && result.cpu_end.broker))
    result.stats.error("a --broker-pid process could not be read from /proc");
  std::fputs(format_report(o, result).c_str(), stdout);
  if (result.stats.errors > 0) {
    std::fprintf(stderr, "error: %lld errors, first: %s\n",
                 static_cast<long long>(result.stats.errors), result.stats.first_error.c_str());
    return kExitRunFailed;
  }
  return kExitOk;
}

}  // namespace
}  // namespace samsa::bench::loadgen

int main(int argc, char** argv) {
  using namespace samsa::bench::loadgen;
  const ParseResult p = parse_options(argc, argv);
  if (p.exit_code >= 0) {
    std::fputs((p.message + "\n").c_str(), p.exit_code == 0 ? stdout : stderr);
    return p.exit_code;
  }
  return run(p.options);
}
