// Command-line options of the benchmark tools, kept free of librdkafka so
// that they can be unit-tested (bench/latency_histogram_test.cc).
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace samsa::bench {

// Exit codes shared by the tools (bench/run.sh relies on them).
inline constexpr int kExitOk = 0;
inline constexpr int kExitRunFailed = 1;    // records lost / timed out
inline constexpr int kExitUsage = 2;        // bad command line
inline constexpr int kExitUnavailable = 3;  // broker unreachable or lacks an API

inline uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// "key=value" -> {key, value}; the value may itself contain '='.
inline std::pair<std::string, std::string> parse_property(const std::string& kv) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::invalid_argument("expected key=value, got '" + kv + "'");
  return {kv.substr(0, eq), kv.substr(eq + 1)};
}

// Kafka's spellings of acks: 0, 1, -1 or all (= -1).
inline std::string normalize_acks(const std::string& acks) {
  if (acks == "all" || acks == "-1") return "-1";
  if (acks == "0" || acks == "1") return acks;
  throw std::invalid_argument("--acks must be 0, 1, -1 or all, got '" + acks + "'");
}

struct CommonOptions {
  std::string bootstrap = "127.0.0.1:9092";
  std::string topic;
  int64_t records = 0;
  double timeout_s = 120;
  std::vector<std::string> props;  // -X key=value, passed to librdkafka as is
  bool json = false;
  int create_partitions = 0;       // > 0: CreateTopics before running
  int replication_factor = 1;
  bool api_check = true;           // ApiVersions pre-flight (--no-api-check)
};

struct ProducerOptions : CommonOptions {
  int record_size = 100;
  std::string acks = "1";
  int linger_ms = 5;
  int batch_size = 1000000;
  std::string compression = "none";
  int partitions = 0;       // > 0: round-robin over partitions 0..N-1
  double throughput = -1;   // records/s cap; <= 0 means unlimited
};

struct ConsumerOptions : CommonOptions {};

struct E2eOptions : CommonOptions {
  int record_size = 100;
  std::string acks = "1";
  int linger_ms = 0;
  double throughput = 1000;  // records/s, fixed rate
  int warmup = 0;            // first N received records are not measured
};

inline void add_common_options(CLI::App& app, CommonOptions& o, bool creates = true) {
  app.add_option("--bootstrap,--bootstrap-server", o.bootstrap, "host:port of the broker")
      ->capture_default_str();
  app.add_option("--topic", o.topic, "topic name")->required();
  app.add_option("--records,--num-records", o.records, "number of records")
      ->required()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  app.add_option("--timeout-s", o.timeout_s, "hard limit on the run, seconds")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
  app.add_option("-X", o.props, "extra librdkafka property key=value (repeatable)")
      ->allow_extra_args(false)
      ->check([](const std::string& s) {
        try {
          parse_property(s);
          return std::string();
        } catch (const std::exception& e) {
          return std::string(e.what());
        }
      });
  app.add_flag("--json", o.json, "print the result as one JSON object");
  app.add_flag("!--no-api-check", o.api_check,
               "skip the ApiVersions check of the APIs the tool needs");
  if (creates) {
    app.add_option("--create-partitions", o.create_partitions,
                   "create the topic with N partitions first (0: don't)")
        ->check(CLI::Range(0, 100000));
    app.add_option("--replication-factor", o.replication_factor,
                   "replication factor for --create-partitions")
        ->capture_default_str()
        ->check(CLI::Range(1, 32767));
  }
}

inline void add_producer_options(CLI::App& app, ProducerOptions& o) {
  add_common_options(app, o);
  app.add_option("--record-size", o.record_size, "payload bytes per record")
      ->capture_default_str()
      ->check(CLI::Range(0, 64 << 20));
  app.add_option("--acks", o.acks, "0, 1, -1 or all")
      ->capture_default_str()
      ->check(CLI::IsMember({"0", "1", "-1", "all"}));
  app.add_option("--linger-ms", o.linger_ms, "linger.ms")
      ->capture_default_str()
      ->check(CLI::Range(0, 900000));
  app.add_option("--batch-size", o.batch_size, "batch.size (bytes)")
      ->capture_default_str()
      ->check(CLI::Range(1, 2147483647));
  app.add_option("--compression", o.compression, "compression.type")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "gzip", "snappy", "lz4", "zstd"}));
  app.add_option("--partitions", o.partitions,
                 "round-robin over partitions 0..N-1 (0: librdkafka's partitioner)")
      ->check(CLI::Range(0, 100000));
  app.add_option("--throughput", o.throughput, "cap in records/s (-1: unlimited)")
      ->capture_default_str();
}

inline void add_consumer_options(CLI::App& app, ConsumerOptions& o) {
  add_common_options(app, o, /*creates=*/false);
}

inline void add_e2e_options(CLI::App& app, E2eOptions& o) {
  add_common_options(app, o);
  app.add_option("--record-size", o.record_size, "payload bytes per record (>= 24)")
      ->capture_default_str()
      ->check(CLI::Range(24, 64 << 20));
  app.add_option("--acks", o.acks, "0, 1, -1 or all")
      ->capture_default_str()
      ->check(CLI::IsMember({"0", "1", "-1", "all"}));
  app.add_option("--linger-ms", o.linger_ms, "linger.ms")
      ->capture_default_str()
      ->check(CLI::Range(0, 900000));
  app.add_option("--throughput", o.throughput, "fixed send rate, records/s")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 1e9));
  app.add_option("--warmup", o.warmup, "received records excluded from the figures")
      ->check(CLI::Range(0, 1 << 30));
}

// Minimal one-line JSON object writer (keys and strings are escaped).
class JsonObject {
 public:
  JsonObject& add(const std::string& key, const std::string& v) {
    sep();
    out_ << quote(key) << ':' << quote(v);
    return *this;
  }
  JsonObject& add(const std::string& key, const char* v) { return add(key, std::string(v)); }
  JsonObject& add(const std::string& key, bool v) {
    sep();
    out_ << quote(key) << ':' << (v ? "true" : "false");
    return *this;
  }
  JsonObject& add(const std::string& key, double v) {
    sep();
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    out_ << quote(key) << ':' << buf;
    return *this;
  }
  JsonObject& add(const std::string& key, int64_t v) {
    sep();
    out_ << quote(key) << ':' << v;
    return *this;
  }
  JsonObject& add(const std::string& key, uint64_t v) {
    sep();
    out_ << quote(key) << ':' << v;
    return *this;
  }
  std::string str() const { return first_ ? "{}" : out_.str() + "}"; }

  static std::string quote(const std::string& s) {
    std::string r = "\"";
    for (char c : s) {
      switch (c) {
        case '"': r += "\\\""; break;
        case '\\': r += "\\\\"; break;
        case '\n': r += "\\n"; break;
        case '\t': r += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            r += buf;
          } else {
            r += c;
          }
      }
    }
    return r + "\"";
  }

 private:
  void sep() {
    out_ << (first_ ? "{" : ",");
    first_ = false;
  }
  std::ostringstream out_;
  bool first_ = true;
};

}  // namespace samsa::bench
