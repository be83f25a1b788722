// librdkafka helpers shared by the benchmark tools.
#pragma once
#include <cstdio>

#include <CLI/CLI.hpp>

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api_versions.h"
#include "options.h"

namespace samsa::bench {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const {
    if (rk) rd_kafka_destroy(rk);
  }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

// Thrown for configuration errors and for a broker that cannot serve the
// benchmark (unreachable, missing API). `code` is the process exit code.
struct BenchError : std::runtime_error {
  BenchError(int c, const std::string& what) : std::runtime_error(what), code(c) {}
  int code;
};

// A librdkafka configuration: bootstrap.servers, then `base` in order, then
// every -X property (which therefore wins). Throws BenchError(kExitUsage).
rd_kafka_conf_t* make_conf(const CommonOptions& o,
                           const std::vector<std::pair<std::string, std::string>>& base);

// rd_kafka_new; takes ownership of conf. Throws BenchError.
KafkaHandle make_client(rd_kafka_type_t type, rd_kafka_conf_t* conf);

// CreateTopics(topic, partitions, rf); an existing topic is fine. Throws
// BenchError(kExitUnavailable) with the broker's or librdkafka's reason.
void create_topic(rd_kafka_t* rk, const std::string& topic, int partitions, int rf,
                  int timeout_ms);

// Waits until the topic's metadata lists at least one partition with a
// leader; returns the partition ids. Throws BenchError(kExitUnavailable).
std::vector<int32_t> wait_for_partitions(rd_kafka_t* rk, const std::string& topic,
                                         int timeout_ms);

// Asks the first bootstrap server for its ApiVersions (a plain TCP request,
// outside librdkafka) and throws BenchError(kExitUnavailable) if it cannot be
// reached or lacks one of `needs`. An answer that cannot be parsed only
// warns: librdkafka may still cope with it.
void require_apis(const std::string& bootstrap, const std::vector<ApiNeed>& needs,
                  int timeout_ms);

// Milliseconds left until deadline_ns (steady clock), at least min_ms.
int ms_left(uint64_t deadline_ns, int min_ms = 0);

// The tools' main(): parses the command line, runs `body`, and maps errors
// onto the exit codes of options.h.
template <typename Body>
int run_tool(CLI::App& app, int argc, char** argv, Body body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  try {
    return body();
  } catch (const BenchError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return e.code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return kExitRunFailed;
  }
}

}  // namespace samsa::bench
