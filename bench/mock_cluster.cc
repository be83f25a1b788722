// samsa-bench-mock-cluster: librdkafka's built-in mock Kafka cluster on
// loopback, to check the benchmark tools themselves where no real Kafka is
// available (bench/run.sh --self-test). It is NOT a performance reference.
//
// Prints the bootstrap servers on the first line of stdout, then serves
// until SIGINT/SIGTERM or --timeout-s. --disable-api KEY removes an API
// from its ApiVersions (e.g. 0 = Produce) to exercise the tools' handling
// of a broker that lacks it. The mock has no CreateTopics: --topic
// NAME:PARTITIONS creates topics up front.
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <thread>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "options.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  using namespace samsa::bench;
  CLI::App app{"samsa-bench-mock-cluster: librdkafka mock cluster for checking the bench tools"};
  int brokers = 1;
  double timeout_s = 600;
  std::vector<int> disabled;
  std::vector<std::string> topics;
  app.add_option("--brokers", brokers, "number of mock brokers")->check(CLI::Range(1, 16));
  app.add_option("--timeout-s", timeout_s, "exit after this many seconds")
      ->check(CLI::Range(1.0, 86400.0));
  app.add_option("--disable-api", disabled, "ApiKey to remove from ApiVersions (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--topic", topics, "pre-create topic NAME:PARTITIONS (the mock has no CreateTopics)")
      ->allow_extra_args(false);
  CLI11_PARSE(app, argc, argv);

  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "error: rd_kafka_new: %s\n", err);
    return kExitRunFailed;
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    std::fprintf(stderr, "error: rd_kafka_mock_cluster_new failed\n");
    rd_kafka_destroy(rk);
    return kExitRunFailed;
  }
  for (const std::string& t : topics) {
    const auto colon = t.rfind(':');
    const int parts = colon == std::string::npos ? 1 : std::atoi(t.c_str() + colon + 1);
    const std::string name = t.substr(0, colon);
    if (rd_kafka_mock_topic_create(mc, name.c_str(), parts > 0 ? parts : 1, 1)) {
      std::fprintf(stderr, "error: cannot create mock topic %s\n", t.c_str());
      return kExitUsage;
    }
  }
  for (int key : disabled)
    rd_kafka_mock_set_apiversion(mc, static_cast<int16_t>(key), -1, -1);
  std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  std::fflush(stdout);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_s * 1e9);
  while (!g_stop && now_ns() < deadline) {
    rd_kafka_poll(rk, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return kExitOk;
}
