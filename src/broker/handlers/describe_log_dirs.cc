// DescribeLogDirs (key 35): per log.dirs entry its absolute path, the
// partitions stored there with their size (all, or those asked for), and
// from v4 the file system's total and usable bytes (Kafka's
// ReplicaManager#describeLogDirs). A single-replica leader has no lag.
#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/replica/replica_manager.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/describe_log_dirs_request.h"
#include "samsa/protocol/gen/describe_log_dirs_response.h"

namespace samsa::broker {

using protocol::DescribeLogDirsRequest;
using protocol::DescribeLogDirsResponse;
using protocol::ErrorCode;
using Result = DescribeLogDirsResponse::DescribeLogDirsResult;

namespace {

std::string absolute_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(dir, ec);
  std::string s = ec ? dir : p.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

void handle_describe_log_dirs(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<DescribeLogDirsRequest>(body, ctx.api_version);
  const BrokerServices& services = *ctx.services;

  std::set<std::pair<std::string, int32_t>> wanted;
  bool all = !request.topics.has_value();
  if (!all)
    for (const auto& t : *request.topics)
      for (int32_t p : t.partitions) wanted.emplace(t.topic, p);

  // Logs by absolute parent dir, then topic.
  std::map<std::string, std::map<std::string, std::vector<std::shared_ptr<log::Log>>>> by_dir;
  if (services.replicas != nullptr) {
    log::LogManager& logs = services.replicas->logs();
    for (const log::TopicPartition& tp : logs.partitions())
      if (auto l = logs.get(tp.topic, tp.partition))
        by_dir[absolute_dir(std::filesystem::path(l->dir()).parent_path().string())][tp.topic].push_back(l);
  }

  std::set<std::string> offline;  // after an I/O error (log_manager.h)
  if (services.replicas != nullptr)
    for (const std::string& d : services.replicas->logs().offline_dirs()) offline.insert(d);

  DescribeLogDirsResponse response;
  for (const std::string& dir : services.config->log_dirs) {
    Result result;
    result.log_dir = absolute_dir(dir);
    struct statvfs fs {};
    std::error_code ec;
    if (offline.contains(dir) || !std::filesystem::is_directory(dir, ec) || ::statvfs(dir.c_str(), &fs) != 0) {
      result.error_code = protocol::code(ErrorCode::KAFKA_STORAGE_ERROR);
      response.results.push_back(std::move(result));
      continue;
    }
    result.total_bytes = static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize);
    result.usable_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
    if (auto it = by_dir.find(result.log_dir); it != by_dir.end()) {
      for (auto& [topic, topic_logs] : it->second) {
        Result::DescribeLogDirsTopic t;
        t.name = topic;
        std::sort(topic_logs.begin(), topic_logs.end(), [](const auto& a, const auto& b) {
          return a->topic_partition().partition < b->topic_partition().partition;
        });
        for (const auto& l : topic_logs) {
          int32_t p = l->topic_partition().partition;
          if (!all && !wanted.contains({topic, p})) continue;
          Result::DescribeLogDirsTopic::DescribeLogDirsPartition part;
          part.partition_index = p;
          part.partition_size = static_cast<int64_t>(l->size_in_bytes());
          part.offset_lag = std::max<int64_t>(l->high_watermark() - l->log_end_offset(), 0);
          part.is_future_key = false;
          t.partitions.push_back(part);
        }
        // Kafka lists every topic of the dir, even one whose partitions were
        // all filtered out.
        result.topics.push_back(std::move(t));
      }
    }
    response.results.push_back(std::move(result));
  }
  responder.send(response);
}

}  // namespace samsa::broker
