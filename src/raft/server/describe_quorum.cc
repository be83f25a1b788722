// DescribeQuorum from RaftManager::describe_quorum(), or relayed from the
// leader (see raft_rpc.h).
#include "samsa/protocol/error_code.h"
#include "samsa/raft/consensus/raft_wire.h"
#include "samsa/raft/server/raft_manager.h"
#include "samsa/raft/server/raft_rpc.h"

namespace samsa::raft {

namespace {

using protocol::DescribeQuorumResponse;
using protocol::ErrorCode;

bool asks_for_metadata_partition(const protocol::DescribeQuorumRequest& r) {
  return r.topics.size() == 1 && r.topics[0].topic_name == wire::kMetadataTopic && r.topics[0].partitions.size() == 1 &&
         r.topics[0].partitions[0].partition_index == wire::kMetadataPartition;
}

DescribeQuorumResponse::ReplicaState replica_state(const ReplicaState& r) {
  DescribeQuorumResponse::ReplicaState s;
  s.replica_id = r.replica_id;
  s.log_end_offset = r.log_end_offset;
  s.last_fetch_timestamp = r.last_fetch_timestamp;
  s.last_caught_up_timestamp = r.last_caught_up_timestamp;
  return s;
}

DescribeQuorumResponse response_of(const RaftManager& raft, const RaftManager::QuorumDescription& d) {
  DescribeQuorumResponse response;
  DescribeQuorumResponse::TopicData topic;
  topic.topic_name = wire::kMetadataTopic;
  DescribeQuorumResponse::TopicData::PartitionData p;
  p.partition_index = wire::kMetadataPartition;
  p.leader_id = d.leader.leader_id;
  p.leader_epoch = d.leader.epoch;
  if (!d.info) {
    p.error_code = protocol::code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
  } else {
    p.error_message = std::nullopt;
    p.high_watermark = d.info->high_watermark;
    for (const auto& v : d.info->current_voters) p.current_voters.push_back(replica_state(v));
    for (const auto& o : d.info->observers) p.observers.push_back(replica_state(o));
    // v2: where each voter listens (ignored by the codec below v2).
    for (const auto& [id, endpoint] : raft.voter_endpoints()) {
      DescribeQuorumResponse::Node node;
      node.node_id = id;
      DescribeQuorumResponse::Node::Listener l;
      l.name = raft.controller_listener_name();
      l.host = endpoint.host;
      l.port = static_cast<uint16_t>(endpoint.port);
      node.listeners.push_back(std::move(l));
      response.nodes.push_back(std::move(node));
    }
  }
  topic.partitions.push_back(std::move(p));
  response.topics.push_back(std::move(topic));
  response.error_message = std::nullopt;
  return response;
}

DescribeQuorumResponse top_level_error(ErrorCode error) {
  DescribeQuorumResponse r;
  r.error_code = protocol::code(error);
  return r;
}

}  // namespace

void serve_describe_quorum(RaftManager& raft, const protocol::DescribeQuorumRequest& request, int16_t version,
                           bool forward, std::function<void(DescribeQuorumResponse)> done) {
  if (!asks_for_metadata_partition(request)) return done(top_level_error(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  auto d = raft.describe_quorum();
  if (!d) return done(top_level_error(ErrorCode::NOT_LEADER_OR_FOLLOWER));
  if (d->info || !forward) return done(response_of(raft, *d));
  auto leader = raft.leader_endpoint();
  if (!leader) return done(response_of(raft, *d));
  raft.kafka_client().call<DescribeQuorumResponse>(
      *leader, version, request,
      [done = std::move(done), d = *d, &raft](std::optional<DescribeQuorumResponse> r) {
        if (r) return done(std::move(*r));
        done(response_of(raft, d));  // the leader could not be reached: what this node knows
      });
}

}  // namespace samsa::raft
