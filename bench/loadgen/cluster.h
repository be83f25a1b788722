// Set-up requests of samsa-loadgen: ApiVersions check, CreateTopics, the
// partition leaders from Metadata, and ListOffsets. All are plain
// request/response round trips on a Connection, before the clock starts.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "connection.h"
#include "options.h"

namespace samsa::bench::loadgen {

// The broker cannot serve the run (missing API, topic, leader): exit code 3.
struct Unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws Unavailable unless the broker serves every version this mode uses.
void check_api_versions(Connection& c, Mode mode, bool create, uint64_t deadline_ns);

// CreateTopics; TOPIC_ALREADY_EXISTS is success. Throws Unavailable.
void create_topic(Connection& c, const Options& o, uint64_t deadline_ns);

struct LeaderPartitions {
  int32_t node_id = -1;
  std::string host;
  int port = 0;
  std::vector<int32_t> partitions;
};

// Polls Metadata (every 100 ms) until partitions 0..N-1 of the topic all
// have a leader, then groups them by leader. Throws Unavailable at the
// deadline, or at once if the topic is unknown and was not just created.
std::vector<LeaderPartitions> find_leaders(Connection& c, const Options& o, uint64_t deadline_ns);

inline constexpr int64_t kLatestTimestamp = -1;    // ListOffsets: the high watermark
inline constexpr int64_t kEarliestTimestamp = -2;  // ListOffsets: the log start

// partition -> offset for `timestamp`. Retries while any partition reports
// an error (a new topic's leaders may not be ready yet); throws Unavailable
// with the last error at the deadline.
std::map<int32_t, int64_t> list_offsets(Connection& c, const std::string& topic,
                                        const std::vector<int32_t>& partitions,
                                        int64_t timestamp, uint64_t deadline_ns);

}  // namespace samsa::bench::loadgen
