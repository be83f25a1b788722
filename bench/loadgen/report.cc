#include "report.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "../options.h"  // JsonObject

namespace samsa::bench::loadgen {

void WorkerStats::merge(const WorkerStats& o) {
  latency.merge(o.latency);
  bytes += o.bytes;
  records += o.records;
  requests += o.requests;
  total_bytes += o.total_bytes;
  total_records += o.total_records;
  if (errors == 0 && o.errors > 0) first_error = o.first_error;
  errors += o.errors;
}

std::optional<double> process_cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // The command name (field 2) may hold spaces: count fields after its ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {  // utime is field 14, stime 15
    if (i == 14) utime = std::stoull(f);
    if (i == 15) stime = std::stoull(f);
  }
  if (!fields) return std::nullopt;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

CpuSample sample_cpu(const std::vector<int>& broker_pids) {
  CpuSample s;
  s.self = self_cpu_seconds();
  if (broker_pids.empty()) return s;
  double sum = 0;
  for (int pid : broker_pids) {
    const auto cpu = process_cpu_seconds(pid);
    if (!cpu) return s;
    sum += *cpu;
  }
  s.broker = sum;
  return s;
}

std::string format_report(const Options& o, const RunResult& r) {
  const WorkerStats& st = r.stats;
  const double secs = r.seconds > 0 ? r.seconds : 1e-9;
  const double gb = static_cast<double>(st.bytes) / 1e9;
  auto ms = [&](double p) { return static_cast<double>(st.latency.percentile(p)) / 1e6; };
  JsonObject j;
  j.add("mode", o.mode == Mode::kProduce ? "produce" : "fetch")
      .add("topic", o.topic)
      .add("partitions", int64_t{o.partitions})
      .add("connections", int64_t{o.connections})
      .add("seconds", r.seconds)
      .add("bytes", st.bytes)
      .add("records", st.records)
      .add("requests", st.requests)
      .add("mb_per_s", static_cast<double>(st.bytes) / 1e6 / secs)
      .add("records_per_s", static_cast<double>(st.records) / secs)
      .add("requests_per_s", static_cast<double>(st.requests) / secs)
      .add("latency_p50_ms", ms(50))
      .add("latency_p99_ms", ms(99))
      .add("latency_p999_ms", ms(99.9))
      .add("latency_max_ms", static_cast<double>(st.latency.max()) / 1e6)
      .add("errors", st.errors)
      .add("total_bytes", st.total_bytes)
      .add("total_records", st.total_records);
  if (o.mode == Mode::kProduce) {
    j.add("record_size", int64_t{o.record_size})
        .add("batch_records", int64_t{o.batch_records})
        .add("inflight", int64_t{o.inflight})
        .add("acks", int64_t{o.acks});
  }
  if (!st.first_error.empty()) j.add("first_error", st.first_error);
  const double client = r.cpu_end.self - r.cpu_start.self;
  j.add("client_cpu_s", client).add("client_cpu_s_per_gb", gb > 0 ? client / gb : 0.0);
  if (r.cpu_start.broker && r.cpu_end.broker) {
    const double broker = *r.cpu_end.broker - *r.cpu_start.broker;
    j.add("broker_cpu_s", broker).add("broker_cpu_s_per_gb", gb > 0 ? broker / gb : 0.0);
  }
  const std::string json = j.str();
  if (o.json) return json + "\n";
  // Text: the same keys, one per line.
  std::string text;
  std::string body = json.substr(1, json.size() - 2);
  size_t pos = 0;
  bool in_string = false;
  for (size_t i = 0; i <= body.size(); ++i) {
    if (i < body.size() && body[i] == '"' && (i == 0 || body[i - 1] != '\\')) in_string = !in_string;
    if (i == body.size() || (body[i] == ',' && !in_string)) {
      std::string kv = body.substr(pos, i - pos);
      const auto colon = kv.find("\":");
      std::string value = kv.substr(colon + 2);
      if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
      text += kv.substr(1, colon - 1) + ": " + value + "\n";
      pos = i + 1;
    }
  }
  return text;
}

}  // namespace samsa::bench::loadgen
