#include "samsa/raft/consensus/raft_wire.h"

#include <algorithm>
#include <exception>
#include <span>
#include <vector>

#include "samsa/protocol/record_batch.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::raft::wire {
namespace {

using protocol::BatchIterator;

int16_t code(RaftError e) { return static_cast<int16_t>(e); }
RaftError error_of(int16_t c) { return static_cast<RaftError>(c); }

// The one __cluster_metadata partition-0 entry of a Raft message's
// Topics[].Partitions[]; nullptr if absent or repeated.
template <typename Part, typename Topic>
const Part* single_metadata_partition(const std::vector<Topic>& topics) {
  const Part* found = nullptr;
  for (const auto& t : topics) {
    if (t.topic_name != kMetadataTopic) continue;
    for (const auto& p : t.partitions) {
      if (p.partition_index != kMetadataPartition) continue;
      if (found != nullptr) return nullptr;  // ambiguous: not one we can act on
      found = &p;
    }
  }
  return found;
}

template <typename Part, typename Topic>
std::vector<Topic> metadata_topics(Part part) {
  part.partition_index = kMetadataPartition;
  Topic t;
  t.topic_name = kMetadataTopic;
  t.partitions.push_back(std::move(part));
  return {std::move(t)};
}

bool is_metadata(const std::string& name, const protocol::Uuid& id) {
  return name == kMetadataTopic || id == metadata_topic_id();
}

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Kafka's control record key: {version int16 = 0, type int16}.
std::vector<uint8_t> control_key(int16_t type) {
  protocol::WireWriter key;
  key.int16(0);
  key.int16(type);
  return {key.view().begin(), key.view().end()};
}

// One entry -> one batch holding its records at consecutive offsets.
protocol::Records encode_entries(Offset base_offset, const std::vector<Entry>& entries) {
  protocol::WireWriter out;
  Offset offset = base_offset;
  for (const Entry& e : entries) {
    protocol::RecordBatchOptions opts;
    opts.base_offset = offset;
    opts.partition_leader_epoch = e.epoch;
    opts.control = e.control;
    opts.base_timestamp = e.timestamp_ms;  // the leader's stamp travels with the batch
    protocol::RecordBatchBuilder b(opts);
    std::vector<uint8_t> key;
    if (e.control) key = control_key(e.control_type);
    for (const std::string& value : e.records) {
      std::optional<std::span<const uint8_t>> k;
      if (e.control) k = std::span<const uint8_t>(key);
      b.append(e.timestamp_ms, k, bytes_of(value));
    }
    b.build_into(out);
    offset += e.size();
  }
  return protocol::Records::copy_of(out.view());
}

// The control type of a control record's key; nullopt if malformed.
std::optional<int16_t> control_type_of(const std::optional<std::vector<uint8_t>>& key) {
  if (!key || key->size() < 4) return std::nullopt;
  return static_cast<int16_t>((static_cast<uint16_t>((*key)[2]) << 8) | (*key)[3]);
}

// nullopt for anything but well-framed, CRC-valid, uncompressed batches at
// contiguous offsets. A torn last batch (a fetch cut at max bytes) is dropped,
// as Kafka's fetchers do.
std::optional<std::vector<Entry>> decode_entries(const protocol::Records& records, Offset* base_offset) {
  std::vector<Entry> out;
  if (records.in_file()) return std::nullopt;  // only a sender holds file-backed records
  try {
    auto split = protocol::split_batches(records.bytes(), /*require_complete=*/false);
    if (split.stop == BatchIterator::Stop::kCorrupt) return std::nullopt;
    std::optional<Offset> next;
    for (const auto& batch : split.batches) {
      if (!protocol::verify_crc(batch.bytes)) return std::nullopt;
      if (next && batch.header.base_offset != *next) return std::nullopt;
      if (!next) *base_offset = batch.header.base_offset;
      next = batch.header.base_offset;
      Entry e;
      e.epoch = batch.header.partition_leader_epoch;
      e.control = batch.header.is_control();
      e.timestamp_ms = batch.header.max_timestamp;
      for (const auto& rec : protocol::decode_records(batch)) {
        if (batch.header.base_offset + rec.offset_delta != *next) return std::nullopt;
        if (e.control) {
          auto type = control_type_of(rec.key);
          if (!type || (!e.records.empty() && *type != e.control_type)) return std::nullopt;
          e.control_type = *type;
        }
        e.records.emplace_back(rec.value ? std::string(rec.value->begin(), rec.value->end()) : std::string());
        ++*next;
      }
      if (*next != batch.header.next_offset() || e.records.empty()) return std::nullopt;
      out.push_back(std::move(e));
    }
  } catch (const std::exception&) {  // DecodeError: compressed or malformed records
    return std::nullopt;
  }
  return out;
}

}  // namespace

protocol::Uuid metadata_topic_id() {
  protocol::Uuid id;
  id.bytes[15] = 1;
  return id;
}

// ---- Vote ----

std::optional<protocol::VoteRequest> to_wire(const VoteRequest& m, const RequestContext& ctx) {
  using W = protocol::VoteRequest;
  W w;
  w.cluster_id = ctx.cluster_id;
  w.voter_id = ctx.destination;
  W::TopicData::PartitionData p;
  p.candidate_epoch = m.pre_vote ? m.candidate_epoch - 1 : m.candidate_epoch;
  p.candidate_id = m.candidate_id;
  p.last_offset_epoch = m.last_offset_epoch;
  p.last_offset = m.last_offset;
  p.pre_vote = m.pre_vote;
  w.topics = metadata_topics<W::TopicData::PartitionData, W::TopicData>(p);
  return w;
}

std::optional<VoteRequest> from_wire(const protocol::VoteRequest& w) {
  using W = protocol::VoteRequest;
  const auto* p = single_metadata_partition<W::TopicData::PartitionData>(w.topics);
  if (p == nullptr) return std::nullopt;
  VoteRequest m;
  m.pre_vote = p->pre_vote;
  m.candidate_epoch = m.pre_vote ? p->candidate_epoch + 1 : p->candidate_epoch;
  m.candidate_id = p->candidate_id;
  m.last_offset_epoch = p->last_offset_epoch;
  m.last_offset = p->last_offset;
  return m;
}

protocol::VoteResponse to_wire(const VoteResponse& m) {
  using W = protocol::VoteResponse;
  W w;
  W::TopicData::PartitionData p;
  p.error_code = code(m.error);
  p.leader_id = m.leader_id;
  p.leader_epoch = m.leader_epoch;
  p.vote_granted = m.vote_granted;
  w.topics = metadata_topics<W::TopicData::PartitionData, W::TopicData>(p);
  return w;
}

std::optional<VoteResponse> from_wire(const protocol::VoteResponse& w) {
  using W = protocol::VoteResponse;
  if (w.error_code != 0) return std::nullopt;
  const auto* p = single_metadata_partition<W::TopicData::PartitionData>(w.topics);
  if (p == nullptr) return std::nullopt;
  VoteResponse m;
  m.error = error_of(p->error_code);
  m.leader_id = p->leader_id;
  m.leader_epoch = p->leader_epoch;
  m.vote_granted = p->vote_granted;
  return m;
}

// ---- BeginQuorumEpoch / EndQuorumEpoch ----

protocol::BeginQuorumEpochRequest to_wire(const BeginQuorumEpochRequest& m, const RequestContext& ctx) {
  using W = protocol::BeginQuorumEpochRequest;
  W w;
  w.cluster_id = ctx.cluster_id;
  w.voter_id = ctx.destination;
  W::TopicData::PartitionData p;
  p.leader_id = m.leader_id;
  p.leader_epoch = m.leader_epoch;
  w.topics = metadata_topics<W::TopicData::PartitionData, W::TopicData>(p);
  return w;
}

std::optional<BeginQuorumEpochRequest> from_wire(const protocol::BeginQuorumEpochRequest& w) {
  using W = protocol::BeginQuorumEpochRequest;
  const auto* p = single_metadata_partition<W::TopicData::PartitionData>(w.topics);
  if (p == nullptr) return std::nullopt;
  return BeginQuorumEpochRequest{p->leader_epoch, p->leader_id};
}

protocol::EndQuorumEpochRequest to_wire(const EndQuorumEpochRequest& m, const RequestContext& ctx) {
  using W = protocol::EndQuorumEpochRequest;
  W w;
  w.cluster_id = ctx.cluster_id;
  W::TopicData::PartitionData p;
  p.leader_id = m.leader_id;
  p.leader_epoch = m.leader_epoch;
  // v0 carries PreferredSuccessors, v1 PreferredCandidates: fill both so the
  // encoder writes whichever the version has.
  p.preferred_successors = m.preferred_successors;
  for (NodeId id : m.preferred_successors) {
    W::TopicData::PartitionData::ReplicaInfo r;
    r.candidate_id = id;
    p.preferred_candidates.push_back(r);
  }
  w.topics = metadata_topics<W::TopicData::PartitionData, W::TopicData>(p);
  return w;
}

std::optional<EndQuorumEpochRequest> from_wire(const protocol::EndQuorumEpochRequest& w) {
  using W = protocol::EndQuorumEpochRequest;
  const auto* p = single_metadata_partition<W::TopicData::PartitionData>(w.topics);
  if (p == nullptr) return std::nullopt;
  EndQuorumEpochRequest m;
  m.leader_epoch = p->leader_epoch;
  m.leader_id = p->leader_id;
  if (!p->preferred_candidates.empty()) {
    for (const auto& r : p->preferred_candidates) m.preferred_successors.push_back(r.candidate_id);
  } else {
    m.preferred_successors = p->preferred_successors;
  }
  return m;
}

namespace {
template <typename W>
W quorum_epoch_response(const QuorumEpochResponse& m) {
  W w;
  typename W::TopicData::PartitionData p;
  p.error_code = code(m.error);
  p.leader_id = m.leader_id;
  p.leader_epoch = m.leader_epoch;
  w.topics = metadata_topics<typename W::TopicData::PartitionData, typename W::TopicData>(p);
  return w;
}
template <typename W>
std::optional<QuorumEpochResponse> quorum_epoch_response(const W& w) {
  if (w.error_code != 0) return std::nullopt;
  const auto* p = single_metadata_partition<typename W::TopicData::PartitionData>(w.topics);
  if (p == nullptr) return std::nullopt;
  return QuorumEpochResponse{error_of(p->error_code), p->leader_epoch, p->leader_id};
}
}  // namespace

protocol::BeginQuorumEpochResponse to_begin_wire(const QuorumEpochResponse& m) {
  return quorum_epoch_response<protocol::BeginQuorumEpochResponse>(m);
}
protocol::EndQuorumEpochResponse to_end_wire(const QuorumEpochResponse& m) {
  return quorum_epoch_response<protocol::EndQuorumEpochResponse>(m);
}
std::optional<QuorumEpochResponse> from_wire(const protocol::BeginQuorumEpochResponse& w) {
  return quorum_epoch_response(w);
}
std::optional<QuorumEpochResponse> from_wire(const protocol::EndQuorumEpochResponse& w) {
  return quorum_epoch_response(w);
}

// ---- Fetch ----

protocol::FetchRequest to_wire(const FetchRequest& m, NodeId replica_id, const RequestContext& ctx) {
  using W = protocol::FetchRequest;
  W w;
  w.cluster_id = ctx.cluster_id;
  w.replica_id = replica_id;              // v < 15
  w.replica_state.replica_id = replica_id;  // v15+
  w.max_wait_ms = static_cast<int32_t>(m.max_wait_ms);
  W::FetchTopic t;
  t.topic = kMetadataTopic;  // v < 13
  t.topic_id = metadata_topic_id();
  W::FetchTopic::FetchPartition p;
  p.partition = kMetadataPartition;
  p.current_leader_epoch = m.current_leader_epoch;
  p.fetch_offset = m.fetch_offset;
  p.last_fetched_epoch = m.last_fetched_epoch;
  t.partitions.push_back(p);
  w.topics.push_back(std::move(t));
  return w;
}

NodeId fetch_replica_id(const protocol::FetchRequest& w) {
  return w.replica_state.replica_id != -1 ? w.replica_state.replica_id : w.replica_id;
}

std::optional<FetchRequest> from_wire(const protocol::FetchRequest& w) {
  const protocol::FetchRequest::FetchTopic::FetchPartition* found = nullptr;
  for (const auto& t : w.topics) {
    if (!is_metadata(t.topic, t.topic_id)) continue;
    for (const auto& p : t.partitions) {
      if (p.partition != kMetadataPartition) continue;
      if (found != nullptr) return std::nullopt;
      found = &p;
    }
  }
  if (found == nullptr) return std::nullopt;
  FetchRequest m;
  m.current_leader_epoch = found->current_leader_epoch;
  m.replica_id = fetch_replica_id(w);
  m.max_wait_ms = std::max<int64_t>(0, w.max_wait_ms);
  m.fetch_offset = found->fetch_offset;
  m.last_fetched_epoch = found->last_fetched_epoch;
  return m;
}

protocol::FetchResponse to_wire(const FetchResponse& m) {
  using W = protocol::FetchResponse;
  W w;
  W::FetchableTopicResponse t;
  t.topic = kMetadataTopic;
  t.topic_id = metadata_topic_id();
  W::FetchableTopicResponse::PartitionData p;
  p.partition_index = kMetadataPartition;
  p.error_code = code(m.error);
  p.high_watermark = m.high_watermark;
  if (m.diverging_epoch) {
    p.diverging_epoch.epoch = m.diverging_epoch->epoch;
    p.diverging_epoch.end_offset = m.diverging_epoch->offset;
  }
  p.current_leader.leader_id = m.leader_id;
  p.current_leader.leader_epoch = m.leader_epoch;
  if (m.snapshot_id) {
    p.snapshot_id.end_offset = m.snapshot_id->offset;
    p.snapshot_id.epoch = m.snapshot_id->epoch;
  }
  p.records = encode_entries(m.base_offset, m.records);
  t.partitions.push_back(std::move(p));
  w.responses.push_back(std::move(t));
  return w;
}

std::optional<FetchResponse> from_wire(const protocol::FetchResponse& w, Offset fetch_offset) {
  if (w.error_code != 0) return std::nullopt;
  const protocol::FetchResponse::FetchableTopicResponse::PartitionData* found = nullptr;
  for (const auto& t : w.responses) {
    if (!is_metadata(t.topic, t.topic_id)) continue;
    for (const auto& p : t.partitions) {
      if (p.partition_index != kMetadataPartition) continue;
      if (found != nullptr) return std::nullopt;
      found = &p;
    }
  }
  if (found == nullptr) return std::nullopt;
  FetchResponse m;
  m.error = error_of(found->error_code);
  m.leader_epoch = found->current_leader.leader_epoch;
  m.leader_id = found->current_leader.leader_id;
  m.high_watermark = found->high_watermark;
  if (found->diverging_epoch.epoch != -1 || found->diverging_epoch.end_offset != -1) {
    m.diverging_epoch = OffsetAndEpoch{found->diverging_epoch.end_offset, found->diverging_epoch.epoch};
  }
  if (found->snapshot_id.end_offset != -1 || found->snapshot_id.epoch != -1) {
    m.snapshot_id = OffsetAndEpoch{found->snapshot_id.end_offset, found->snapshot_id.epoch};
  }
  m.base_offset = fetch_offset;
  auto entries = decode_entries(found->records, &m.base_offset);
  if (!entries) return std::nullopt;
  m.records = std::move(*entries);
  return m;
}

}  // namespace samsa::raft::wire
