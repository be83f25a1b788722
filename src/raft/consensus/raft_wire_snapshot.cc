// raft_wire: FetchSnapshot (KIP-630) and the LeaderChange control record value.
#include <exception>
#include <memory>
#include <span>
#include <vector>

#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"
#include "samsa/raft/consensus/raft_wire.h"

namespace samsa::raft::wire {
namespace {

int16_t code(RaftError e) { return static_cast<int16_t>(e); }
RaftError error_of(int16_t c) { return static_cast<RaftError>(c); }
std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

// ---- FetchSnapshot ----

protocol::FetchSnapshotRequest to_wire(const FetchSnapshotRequest& m, NodeId replica_id, const RequestContext& ctx) {
  using W = protocol::FetchSnapshotRequest;
  W w;
  w.cluster_id = ctx.cluster_id;
  w.replica_id = replica_id;
  w.max_bytes = m.max_bytes;
  W::TopicSnapshot t;
  t.name = kMetadataTopic;
  W::TopicSnapshot::PartitionSnapshot p;
  p.partition = kMetadataPartition;
  p.current_leader_epoch = m.current_leader_epoch;
  p.snapshot_id.end_offset = m.snapshot_id.offset;
  p.snapshot_id.epoch = m.snapshot_id.epoch;
  p.position = m.position;
  t.partitions.push_back(p);
  w.topics.push_back(std::move(t));
  return w;
}

std::optional<FetchSnapshotRequest> from_wire(const protocol::FetchSnapshotRequest& w) {
  const protocol::FetchSnapshotRequest::TopicSnapshot::PartitionSnapshot* found = nullptr;
  for (const auto& t : w.topics) {
    if (t.name != kMetadataTopic) continue;
    for (const auto& p : t.partitions) {
      if (p.partition != kMetadataPartition) continue;
      if (found != nullptr) return std::nullopt;
      found = &p;
    }
  }
  if (found == nullptr) return std::nullopt;
  FetchSnapshotRequest m;
  m.current_leader_epoch = found->current_leader_epoch;
  m.replica_id = w.replica_id;
  m.snapshot_id = OffsetAndEpoch{found->snapshot_id.end_offset, found->snapshot_id.epoch};
  m.position = found->position;
  m.max_bytes = w.max_bytes;
  return m;
}

protocol::FetchSnapshotResponse to_wire(const FetchSnapshotResponse& m) {
  using W = protocol::FetchSnapshotResponse;
  W w;
  W::TopicSnapshot t;
  t.name = kMetadataTopic;
  W::TopicSnapshot::PartitionSnapshot p;
  p.index = kMetadataPartition;
  p.error_code = code(m.error);
  p.snapshot_id.end_offset = m.snapshot_id.offset;
  p.snapshot_id.epoch = m.snapshot_id.epoch;
  p.current_leader.leader_id = m.leader_id;
  p.current_leader.leader_epoch = m.leader_epoch;
  p.size = m.size;
  p.position = m.position;
  p.unaligned_records = protocol::Records::copy_of(bytes_of(m.bytes));
  t.partitions.push_back(std::move(p));
  w.topics.push_back(std::move(t));
  return w;
}

std::optional<FetchSnapshotResponse> from_wire(const protocol::FetchSnapshotResponse& w) {
  if (w.error_code != 0) return std::nullopt;
  const protocol::FetchSnapshotResponse::TopicSnapshot::PartitionSnapshot* found = nullptr;
  for (const auto& t : w.topics) {
    if (t.name != kMetadataTopic) continue;
    for (const auto& p : t.partitions) {
      if (p.index != kMetadataPartition) continue;
      if (found != nullptr) return std::nullopt;
      found = &p;
    }
  }
  if (found == nullptr || found->unaligned_records.in_file()) return std::nullopt;
  FetchSnapshotResponse m;
  m.error = error_of(found->error_code);
  m.leader_epoch = found->current_leader.leader_epoch;
  m.leader_id = found->current_leader.leader_id;
  m.snapshot_id = OffsetAndEpoch{found->snapshot_id.end_offset, found->snapshot_id.epoch};
  m.size = found->size;
  m.position = found->position;
  auto bytes = found->unaligned_records.bytes();
  m.bytes.assign(bytes.begin(), bytes.end());
  return m;
}

// ---- LeaderChange ----

std::string encode_leader_change(NodeId leader, const std::vector<NodeId>& voters,
                                 const std::vector<NodeId>& granting) {
  protocol::LeaderChangeMessage m;
  m.version = 0;
  m.leader_id = leader;
  for (NodeId v : voters) m.voters.push_back(protocol::LeaderChangeMessage::Voter{v, {}, {}});
  for (NodeId v : granting) m.granting_voters.push_back(protocol::LeaderChangeMessage::Voter{v, {}, {}});
  protocol::WireWriter w;
  m.encode(w, 0);
  return {w.view().begin(), w.view().end()};
}

std::optional<protocol::LeaderChangeMessage> decode_leader_change(const std::string& value) {
  try {
    auto buf = std::make_shared<std::vector<uint8_t>>(value.begin(), value.end());
    protocol::WireReader r(std::span<const uint8_t>(buf->data(), buf->size()), buf);
    protocol::LeaderChangeMessage m;
    m.decode(r, 0);
    return m;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace samsa::raft::wire
