#include "options.h"

#include <CLI/CLI.hpp>

#include <stdexcept>

#include "../options.h"  // exit codes shared by the bench tools

namespace samsa::bench::loadgen {

std::pair<std::string, int> split_host_port(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
    throw std::invalid_argument("expected host:port, got '" + s + "'");
  const int port = std::stoi(s.substr(colon + 1));
  if (port <= 0 || port > 65535) throw std::invalid_argument("bad port in '" + s + "'");
  return {s.substr(0, colon), port};
}

std::vector<std::pair<std::string, int>> split_bootstrap(const std::string& s) {
  std::vector<std::pair<std::string, int>> out;
  size_t begin = 0;
  for (;;) {
    const size_t comma = s.find(',', begin);
    out.push_back(split_host_port(s.substr(begin, comma - begin)));
    if (comma == std::string::npos) return out;
    begin = comma + 1;
  }
}

ParseResult parse_options(int argc, const char* const* argv) {
  ParseResult r;
  Options& o = r.options;
  const std::string usage = "usage: samsa-loadgen produce|fetch [options] (--help for options)";
  if (argc < 2) return {o, kExitUsage, usage};
  const std::string mode = argv[1];
  if (mode == "fetch") {
    o.mode = Mode::kFetch;
  } else if (mode != "produce") {
    if (mode == "-h" || mode == "--help") return {o, kExitOk, usage};
    return {o, kExitUsage, "unknown mode '" + mode + "'\n" + usage};
  }

  CLI::App app("samsa-loadgen " + mode + ": raw Kafka protocol load, no client library");
  app.add_option("--bootstrap", o.bootstrap, "host:port[,host:port...] of brokers")->capture_default_str();
  app.add_option("--topic", o.topic, "topic")->capture_default_str();
  app.add_option("--partitions", o.partitions, "use partitions 0..N-1")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_flag("--create", o.create, "CreateTopics with --partitions first (existing is fine)");
  app.add_option("--replication-factor", o.replication_factor, "for --create")
      ->capture_default_str()->check(CLI::Range(1, 32767));
  app.add_option("--duration-s", o.duration_s, "measured seconds after the warm-up")
      ->capture_default_str()->check(CLI::Range(0.01, 86400.0));
  app.add_option("--bytes", o.bytes, "also stop after this many measured batch bytes (0: no limit)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 50));
  app.add_option("--warmup-s", o.warmup_s, "seconds run but not counted")
      ->capture_default_str()->check(CLI::Range(0.0, 3600.0));
  app.add_option("--connections", o.connections, "connections per partition leader")
      ->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--broker-pid", o.broker_pids, "broker process for CPU per GB (repeatable)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--json", o.json, "print one JSON object on stdout");
  app.add_option("--timeout-s", o.timeout_s, "hard limit on the whole run")
      ->capture_default_str()->check(CLI::Range(0.1, 86400.0));
  if (o.mode == Mode::kProduce) {
    app.add_option("--record-size", o.record_size, "value bytes per record (null key)")
        ->capture_default_str()->check(CLI::Range(1, 1 << 20));
    app.add_option("--batch-records", o.batch_records, "records per batch")
        ->capture_default_str()->check(CLI::Range(1, 1 << 20));
    app.add_option("--batches-per-request", o.batches_per_request,
                   "batches (one per partition) per request; 0: one for each partition of the "
                   "connection")
        ->capture_default_str()->check(CLI::Range(0, 100000));
    app.add_option("--inflight", o.inflight, "pipelined requests per connection")
        ->capture_default_str()->check(CLI::Range(1, 4096));
    app.add_option("--acks", o.acks, "0, 1 or -1 (all)")
        ->capture_default_str()
        ->transform(CLI::Transformer({{"all", "-1"}}))
        ->check(CLI::IsMember({"0", "1", "-1"}));
    app.add_option("--ring", o.ring, "distinct pre-encoded requests per connection (0: auto; at least --inflight)")
        ->check(CLI::Range(0, 1 << 20));
  } else {
    std::string from = "earliest";
    app.add_option("--from", from, "earliest or latest")
        ->capture_default_str()->check(CLI::IsMember({"earliest", "latest"}))
        ->each([&o](const std::string& v) { o.from_earliest = v == "earliest"; });
    app.add_flag("--until-end", o.until_end,
                 "stop once every partition reached the high watermark seen at start");
    app.add_option("--fetch-max-bytes", o.fetch_max_bytes, "Fetch max_bytes")
        ->capture_default_str()->check(CLI::Range(1, 1 << 30));
    app.add_option("--partition-max-bytes", o.partition_max_bytes, "Fetch partition_max_bytes")
        ->capture_default_str()->check(CLI::Range(1, 1 << 30));
    app.add_option("--max-wait-ms", o.max_wait_ms, "Fetch max_wait_ms")
        ->capture_default_str()->check(CLI::Range(0, 60000));
  }

  std::vector<const char*> rest{argv[0]};
  for (int i = 2; i < argc; ++i) rest.push_back(argv[i]);
  try {
    app.parse(static_cast<int>(rest.size()), rest.data());
    split_bootstrap(o.bootstrap);
  } catch (const CLI::CallForHelp&) {
    return {o, kExitOk, app.help()};
  } catch (const CLI::ParseError& e) {
    return {o, kExitUsage, e.what()};
  } catch (const std::exception& e) {
    return {o, kExitUsage, e.what()};
  }
  return r;
}

}  // namespace samsa::bench::loadgen
