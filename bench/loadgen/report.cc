#include "report.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
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

namespace {

// Report fields in order, each value already JSON-encoded.
class Fields {
 public:
  Fields& add(const std::string& key, const std::string& json_value) {
    kv_.emplace_back(key, json_value);
    return *this;
  }
  Fields& str(const std::string& key, const std::string& v) { return add(key, JsonObject::quote(v)); }
  Fields& num(const std::string& key, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return add(key, buf);
  }
  Fields& num(const std::string& key, int64_t v) { return add(key, std::to_string(v)); }

  std::string json() const {
    std::string out = "{";
    for (const auto& [k, v] : kv_) out += (out.size() > 1 ? "," : "") + JsonObject::quote(k) + ":" + v;
    return out + "}";
  }
  // "key: value" lines; strings unquoted, nested objects left out (their
  // members are also reported flat).
  std::string text() const {
    std::string out;
    for (const auto& [k, v] : kv_) {
      if (v.starts_with("{")) continue;
      out += k + ": " + (v.starts_with("\"") ? v.substr(1, v.size() - 2) : v) + "\n";
    }
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> kv_;
};

}  // namespace

std::string format_report(const Options& o, const RunResult& r) {
  const WorkerStats& st = r.stats;
  const double secs = r.seconds > 0 ? r.seconds : 1e-9;
  const double gb = static_cast<double>(st.bytes) / 1e9;
  auto ms = [&](double p) { return static_cast<double>(st.latency.percentile(p)) / 1e6; };
  Fields f;
  f.str("mode", o.mode == Mode::kProduce ? "produce" : "fetch")
      .str("topic", o.topic)
      .num("partitions", int64_t{o.partitions})
      .num("connections", int64_t{o.connections})
      .num("seconds", r.seconds)
      .num("bytes", st.bytes)
      .num("records", st.records)
      .num("requests", st.requests)
      .num("mb_per_s", static_cast<double>(st.bytes) / 1e6 / secs)
      .num("records_per_s", static_cast<double>(st.records) / secs)
      .num("requests_per_s", static_cast<double>(st.requests) / secs)
      .num("latency_p50_ms", ms(50))
      .num("latency_p99_ms", ms(99))
      .num("latency_p999_ms", ms(99.9))
      .num("latency_max_ms", ms(100));
  Fields lat;
  lat.num("p50", ms(50)).num("p99", ms(99)).num("p999", ms(99.9)).num("max", ms(100));
  f.add("latency_ms", lat.json())
      .num("errors", st.errors)
      .num("total_bytes", st.total_bytes)
      .num("total_records", st.total_records);
  if (o.mode == Mode::kProduce) {
    f.num("record_size", int64_t{o.record_size})
        .num("batch_records", int64_t{o.batch_records})
        .num("inflight", int64_t{o.inflight})
        .num("acks", int64_t{o.acks});
  }
  if (!st.first_error.empty()) f.str("first_error", st.first_error);
  const double client = r.cpu_end.self - r.cpu_start.self;
  f.num("client_cpu_s", client).num("client_cpu_s_per_gb", gb > 0 ? client / gb : 0.0);
  if (r.cpu_start.broker && r.cpu_end.broker) {
    const double broker = *r.cpu_end.broker - *r.cpu_start.broker;
    f.num("broker_cpu_s", broker).num("broker_cpu_s_per_gb", gb > 0 ? broker / gb : 0.0);
  }
  return o.json ? f.json() + "\n" : f.text();
}

}  // namespace samsa::bench::loadgen
