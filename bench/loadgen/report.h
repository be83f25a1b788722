// What samsa-loadgen counts and prints: per-worker counters merged at the
// end, CPU seconds of the broker processes (/proc/<pid>/stat) and of the tool
// itself (getrusage), and the text / JSON report.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../latency_histogram.h"
#include "options.h"

namespace samsa::bench::loadgen {

// Owned by one worker thread; merged by main after join.
struct WorkerStats {
  LatencyHistogram latency;             // ns per request, measured interval only
  int64_t bytes = 0, records = 0;       // record batch bytes / records, measured interval
  int64_t requests = 0;
  int64_t total_bytes = 0, total_records = 0;  // the whole run, warm-up included
  int64_t errors = 0;
  std::string first_error;

  void error(const std::string& what) {
    if (errors++ == 0) first_error = what;
  }
  void merge(const WorkerStats& o);
};

// utime + stime of `pid` in seconds; nullopt if the process is gone.
std::optional<double> process_cpu_seconds(int pid);
// User + system CPU of this process (all threads), seconds.
double self_cpu_seconds();

// CPU seconds of the broker pids (summed) and of this tool.
struct CpuSample {
  std::optional<double> broker;  // nullopt if no pid was given or one vanished
  double self = 0;
};
CpuSample sample_cpu(const std::vector<int>& broker_pids);

struct RunResult {
  WorkerStats stats;
  double seconds = 0;  // measured interval
  CpuSample cpu_start, cpu_end;
};

// The report as one JSON object (--json) or as "key: value" lines.
std::string format_report(const Options& o, const RunResult& r);

}  // namespace samsa::bench::loadgen
