#pragma once
// Helpers shared by the log unit tests: temp dirs, batch builders, reading a
// FetchRange back into memory.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "samsa/log/log.h"
#include "samsa/protocol/record_batch.h"

namespace samsa::log::test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "samsa-log-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// One uncompressed batch of `records` records with timestamps ts, ts+1, ...
inline std::vector<uint8_t> make_batch(int records, int64_t ts, size_t value_size = 10,
                                       protocol::RecordBatchOptions opts = {}) {
  protocol::RecordBatchBuilder builder(opts);
  std::vector<uint8_t> value(value_size, 'v');
  for (int i = 0; i < records; ++i) builder.append(ts + i, std::nullopt, value);
  return builder.build();
}

inline std::vector<uint8_t> concat(const std::vector<std::vector<uint8_t>>& parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline std::vector<uint8_t> read_range(const FetchRange& r) {
  std::vector<uint8_t> out(r.size);
  if (r.size > 0) {
    EXPECT_EQ(r.file->pread_some(out, r.position), r.size);
  }
  return out;
}

inline std::vector<protocol::RecordBatchHeader> headers_of(const std::vector<uint8_t>& bytes) {
  std::vector<protocol::RecordBatchHeader> out;
  for (const auto& b : protocol::split_batches(bytes, true).batches) out.push_back(b.header);
  return out;
}

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void append_bytes_to_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline LogConfig small_config() {
  LogConfig c;
  c.segment_bytes = 4096;
  c.segment_index_bytes = 1024;
  c.index_interval_bytes = 200;
  c.retention_ms = -1;
  return c;
}

struct LogFixture : ::testing::Test {
  TempDir tmp;
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  LogConfig config = small_config();

  std::string log_dir() const { return tmp / "topic-0"; }

  std::shared_ptr<Log> open_log(bool clean = true, int64_t recovery_point = 0,
                                int64_t log_start = 0) {
    LogOpenOptions o;
    o.dir = log_dir();
    o.tp = {"topic", 0};
    o.config = config;
    o.clock = clock;
    o.clean_shutdown = clean;
    o.recovery_point = recovery_point;
    o.log_start_offset = log_start;
    auto r = Log::open(o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : nullptr;
  }

  // Appends one batch of `records` records; returns its first offset.
  int64_t append(Log& log, int records, size_t value_size = 10, int32_t epoch = 0,
                 std::optional<int64_t> ts = std::nullopt) {
    auto batch = make_batch(records, ts.value_or(clock->now_ms()), value_size);
    auto r = log.append_as_leader(batch, epoch);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r->first_offset : -1;
  }

  std::string segment_path(int64_t base, const char* suffix) const {
    return log_dir() + "/" + offset_file_stem(base) + suffix;
  }
};

}  // namespace samsa::log::test
