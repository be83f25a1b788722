// OffsetFetch (key 9): committed offsets of a group. v2+ may ask for every
// partition (null topics) and carry a top-level error; v8+ batch several
// groups. No transactional offsets exist yet, so require_stable never has
// anything to wait for.
#include <map>

#include "samsa/broker/group/group_handlers_support.h"
#include "samsa/broker/handlers.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/offset_fetch_request.h"
#include "samsa/protocol/gen/offset_fetch_response.h"

namespace samsa::broker {

using protocol::ErrorCode;
using protocol::OffsetFetchRequest;
using protocol::OffsetFetchResponse;

namespace {

struct GroupOffsets {
  ErrorCode error = ErrorCode::NONE;
  // Per topic, in request order (or name order when every topic was asked).
  std::vector<std::pair<std::string, std::vector<group::FetchedOffset>>> topics;
};

template <typename Topics>
GroupOffsets fetch(const RequestContext& ctx, const std::string& group_id, const std::optional<Topics>& topics,
                   bool require_stable) {
  GroupOffsets out;
  std::optional<std::vector<group::TopicPartitions>> wanted;
  if (topics) {
    wanted.emplace();
    for (const auto& t : *topics) wanted->push_back({t.name, t.partition_indexes});
  }
  std::vector<group::FetchedOffset> offsets;
  auto* groups = group::coordinator(ctx);
  out.error = groups ? groups->fetch_offsets(group_id, wanted, offsets, require_stable) : ErrorCode::COORDINATOR_NOT_AVAILABLE;
  if (out.error != ErrorCode::NONE) {
    // Versions without a top-level error report it on every partition.
    if (ctx.api_version < 2 && wanted)
      for (const auto& t : *wanted) {
        auto& [name, parts] = out.topics.emplace_back(t.topic, std::vector<group::FetchedOffset>{});
        for (int32_t p : t.partitions) parts.push_back({t.topic, p, -1, -1, "", out.error});
      }
    return out;
  }
  std::map<std::string, size_t> index;
  for (auto& o : offsets) {
    auto [it, fresh] = index.emplace(o.topic, out.topics.size());
    if (fresh) out.topics.emplace_back(o.topic, std::vector<group::FetchedOffset>{});
    out.topics[it->second].second.push_back(std::move(o));
  }
  return out;
}

template <typename Partition>
Partition to_partition(const group::FetchedOffset& o) {
  Partition p;
  p.partition_index = o.partition;
  p.committed_offset = o.offset;
  p.committed_leader_epoch = o.leader_epoch;
  p.metadata = o.metadata;
  p.error_code = protocol::code(o.error);
  return p;
}

}  // namespace

void handle_offset_fetch(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<OffsetFetchRequest>(body, ctx.api_version);
  OffsetFetchResponse response;
  if (ctx.api_version >= 8) {
    for (const auto& g : request.groups) {
      auto result = fetch(ctx, g.group_id, g.topics, request.require_stable);
      auto& rg = response.groups.emplace_back();
      rg.group_id = g.group_id;
      rg.error_code = protocol::code(result.error);
      for (const auto& [name, parts] : result.topics) {
        auto& rt = rg.topics.emplace_back();
        rt.name = name;
        for (const auto& o : parts)
          rt.partitions.push_back(
              to_partition<OffsetFetchResponse::OffsetFetchResponseGroup::OffsetFetchResponseTopics::OffsetFetchResponsePartitions>(o));
      }
    }
  } else {
    // v0-1 always name their topics (an empty list is just empty).
    auto topics = request.topics;
    if (ctx.api_version < 2 && !topics) topics.emplace();
    auto result = fetch(ctx, request.group_id, topics, ctx.api_version >= 7 && request.require_stable);
    response.error_code = protocol::code(result.error);
    for (const auto& [name, parts] : result.topics) {
      auto& rt = response.topics.emplace_back();
      rt.name = name;
      for (const auto& o : parts)
        rt.partitions.push_back(to_partition<OffsetFetchResponse::OffsetFetchResponseTopic::OffsetFetchResponsePartition>(o));
    }
  }
  responder.send(response);
}

}  // namespace samsa::broker
