#include "cluster.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "../api_versions.h"
#include "../options.h"
#include "samsa/protocol/gen/create_topics_request.h"
#include "samsa/protocol/gen/create_topics_response.h"
#include "samsa/protocol/gen/list_offsets_request.h"
#include "samsa/protocol/gen/list_offsets_response.h"
#include "samsa/protocol/gen/metadata_request.h"
#include "samsa/protocol/gen/metadata_response.h"
#include "wire.h"

namespace samsa::bench::loadgen {
namespace {

constexpr int16_t kUnknownTopic = 3;
constexpr int16_t kTopicAlreadyExists = 36;

int32_t next_correlation_id() {
  static std::atomic<int32_t> id{1 << 30};  // set-up ids, apart from the workers' 0..
  return id++;
}

template <class Response, class Request>
Response round_trip(Connection& c, const Request& req, int16_t version, uint64_t deadline_ns) {
  const int32_t corr = next_correlation_id();
  c.write_all(encode_request(req, version, corr), deadline_ns);
  return decode_response<Response>(c.read_frame(deadline_ns), version, corr);
}

void pause_100ms(uint64_t deadline_ns, const std::string& why) {
  if (now_ns() + 100'000'000 > deadline_ns) throw Unavailable(why);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

}  // namespace

void check_api_versions(Connection& c, Mode mode, bool create, uint64_t deadline_ns) {
  const int32_t corr = next_correlation_id();
  c.write_all(encode_api_versions_request(corr, kClientId), deadline_ns);
  const auto frame = c.read_frame(deadline_ns);
  const auto apis = parse_api_versions_response(frame.data(), frame.size(), corr);
  if (!apis) throw Unavailable("bad ApiVersions response");
  std::vector<std::pair<ApiNeed, int16_t>> needs{{kMetadata, kMetadataVersion}};
  if (mode == Mode::kProduce) needs.push_back({kProduce, kProduceVersion});
  if (mode == Mode::kFetch) needs.push_back({kFetch, kFetchVersion});
  needs.push_back({kListOffsets, kListOffsetsVersion});
  if (create) needs.push_back({kCreateTopics, kCreateTopicsVersion});
  for (const auto& [need, version] : needs) {
    const auto it = apis->find(need.key);
    if (it == apis->end() || it->second.min > version || it->second.max < version)
      throw Unavailable(std::string("broker does not serve ") + need.name + " v" +
                        std::to_string(version));
  }
}

void create_topic(Connection& c, const Options& o, uint64_t deadline_ns) {
  protocol::CreateTopicsRequest req;
  auto& t = req.topics.emplace_back();
  t.name = o.topic;
  t.num_partitions = o.partitions;
  t.replication_factor = static_cast<int16_t>(o.replication_factor);
  req.timeout_ms = 30000;
  const auto resp = round_trip<protocol::CreateTopicsResponse>(c, req, kCreateTopicsVersion,
                                                               deadline_ns);
  for (const auto& r : resp.topics) {
    if (r.error_code != 0 && r.error_code != kTopicAlreadyExists)
      throw Unavailable("CreateTopics " + o.topic + ": error " + std::to_string(r.error_code) +
                        (r.error_message ? " " + *r.error_message : std::string()));
  }
}

std::vector<LeaderPartitions> find_leaders(Connection& c, const Options& o, uint64_t deadline_ns) {
  protocol::MetadataRequest req;
  auto& rt = req.topics->emplace_back();
  rt.name = o.topic;
  req.allow_auto_topic_creation = false;
  for (;;) {
    const auto resp = round_trip<protocol::MetadataResponse>(c, req, kMetadataVersion, deadline_ns);
    std::string why = "not every partition of " + o.topic + " 0.." +
                      std::to_string(o.partitions - 1) + " has a leader";
    std::map<int32_t, int32_t> leader_of;  // partition -> node
    for (const auto& t : resp.topics) {
      if (t.name != o.topic) continue;
      if (t.error_code == kUnknownTopic && !o.create)
        throw Unavailable("topic " + o.topic + " does not exist (use --create)");
      if (t.error_code != 0) why += " (topic error " + std::to_string(t.error_code) + ")";
      for (const auto& p : t.partitions)
        if (p.error_code == 0 && p.leader_id >= 0) leader_of[p.partition_index] = p.leader_id;
    }
    std::map<int32_t, LeaderPartitions> by_node;
    bool all = true;
    for (int32_t p = 0; p < o.partitions && all; ++p) {
      const auto it = leader_of.find(p);
      all = it != leader_of.end();
      if (all) by_node[it->second].partitions.push_back(p);
    }
    if (all) {
      for (const auto& b : resp.brokers) {
        if (auto it = by_node.find(b.node_id); it != by_node.end()) {
          it->second.node_id = b.node_id;
          it->second.host = b.host;
          it->second.port = b.port;
        }
      }
      std::vector<LeaderPartitions> out;
      for (auto& [node, lp] : by_node) {
        if (lp.port == 0) all = false;  // leader not (yet) among the brokers
        out.push_back(std::move(lp));
      }
      if (all) return out;
      why = "a leader of " + o.topic + " is not in the broker list";
    }
    pause_100ms(deadline_ns, why);
  }
}

std::map<int32_t, int64_t> list_offsets(Connection& c, const std::string& topic,
                                        const std::vector<int32_t>& partitions,
                                        int64_t timestamp, uint64_t deadline_ns) {
  protocol::ListOffsetsRequest req;
  req.replica_id = -1;
  auto& t = req.topics.emplace_back();
  t.name = topic;
  for (int32_t p : partitions) {
    auto& rp = t.partitions.emplace_back();
    rp.partition_index = p;
    rp.timestamp = timestamp;
  }
  req.timeout_ms = 10000;
  for (;;) {
    const auto resp = round_trip<protocol::ListOffsetsResponse>(c, req, kListOffsetsVersion,
                                                                deadline_ns);
    std::map<int32_t, int64_t> out;
    std::string why;
    for (const auto& rt : resp.topics)
      for (const auto& p : rt.partitions) {
        if (p.error_code != 0)
          why = "ListOffsets " + topic + "-" + std::to_string(p.partition_index) + ": error " +
                std::to_string(p.error_code);
        else
          out[p.partition_index] = p.offset;
      }
    if (why.empty() && out.size() == partitions.size()) return out;
    pause_100ms(deadline_ns, why.empty() ? "ListOffsets: partitions missing" : why);
  }
}

}  // namespace samsa::bench::loadgen
