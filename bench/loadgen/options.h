// Command line of samsa-loadgen (see bench/README.md, "samsa-loadgen").
// Parsing is a pure function so that it is unit-tested
// (bench/loadgen/loadgen_test.cc).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace samsa::bench::loadgen {

enum class Mode { kProduce, kFetch };

struct Options {
  Mode mode = Mode::kProduce;
  std::string bootstrap = "127.0.0.1:9092";  // comma-separated list, tried in order
  std::string topic = "loadgen";
  int partitions = 1;             // partitions 0..N-1
  bool create = false;            // CreateTopics first (an existing topic is fine)
  int replication_factor = 1;
  double duration_s = 10;         // measured time, after the warm-up
  int64_t bytes = 0;              // > 0: also stop once this many batch bytes are measured
  double warmup_s = 1;
  int connections = 2;            // per partition leader
  std::vector<int> broker_pids;   // CPU of these processes over the measured interval
  bool json = false;
  double timeout_s = 120;         // hard limit on the whole run
  // produce
  int record_size = 1024;
  int batch_records = 16;
  int batches_per_request = 0;    // partitions per request; 0 = all of the connection's
  int inflight = 8;               // pipelined requests per connection
  int16_t acks = 1;
  int ring = 0;                   // distinct pre-encoded requests per connection; 0 = auto
  // fetch
  bool from_earliest = true;      // --from earliest|latest
  bool until_end = false;         // stop once every partition reached its start-time end
  int fetch_max_bytes = 64 << 20;
  int partition_max_bytes = 16 << 20;
  int max_wait_ms = 100;
};

struct ParseResult {
  Options options;
  int exit_code = -1;   // >= 0: stop with this code (help printed, or usage error)
  std::string message;  // help text or error, for the caller to print
};

// argv[1] is the mode (produce|fetch), the rest are options.
ParseResult parse_options(int argc, const char* const* argv);

// "host:port" -> {host, port}; throws std::invalid_argument.
std::pair<std::string, int> split_host_port(const std::string& s);
// "host:port[,host:port...]" (Kafka's bootstrap.servers) -> each; throws
// std::invalid_argument.
std::vector<std::pair<std::string, int>> split_bootstrap(const std::string& s);

}  // namespace samsa::bench::loadgen
