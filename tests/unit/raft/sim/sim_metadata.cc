#include "sim_metadata.h"

#include <span>
#include <stdexcept>

#include "samsa/broker/features.h"
#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata/image_records.h"
#include "samsa/broker/metadata/metadata_delta.h"

namespace samsa::raft::sim {

namespace md = broker::metadata;

namespace {

constexpr const char* kClusterId = "sim-cluster-0000000000";
constexpr int32_t kBrokers = 6;  // broker ids 1..6 register, fence and unfence
constexpr int kTopicNames = 24;  // topics t0..t23 come and go

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string framed(const md::RecordAndVersion& r) {
  auto f = md::frame(r);
  return {f.begin(), f.end()};
}

protocol::Uuid uuid_from(SimRandom& rng) {
  protocol::Uuid id;
  for (int half = 0; half < 2; ++half) {
    uint64_t v = rng.next_u64();
    for (int i = 0; i < 8; ++i) id.bytes[static_cast<size_t>(half * 8 + i)] = static_cast<uint8_t>(v >> (8 * i));
  }
  id.bytes[0] |= 1;  // never the zero id
  return id;
}

// Topic ids come from Uuid::random(): replace them by ids drawn from the
// seed so a run replays byte for byte.
void make_topic_ids_deterministic(std::vector<md::RecordAndVersion>& records, SimRandom& rng) {
  std::vector<std::pair<protocol::Uuid, protocol::Uuid>> map;
  auto fixed = [&](const protocol::Uuid& random_id) {
    for (auto& [from, to] : map)
      if (from == random_id) return to;
    map.emplace_back(random_id, uuid_from(rng));
    return map.back().second;
  };
  for (auto& r : records) {
    if (auto* t = std::get_if<protocol::TopicRecord>(&r.record)) t->topic_id = fixed(t->topic_id);
    if (auto* p = std::get_if<protocol::PartitionRecord>(&r.record)) p->topic_id = fixed(p->topic_id);
  }
}

std::vector<std::string> frame_all(const std::vector<md::RecordAndVersion>& records) {
  std::vector<std::string> out;
  out.reserve(records.size());
  for (const auto& r : records) out.push_back(framed(r));
  return out;
}

}  // namespace

ImagePtr empty_image() {
  auto image = std::make_shared<broker::MetadataImage>();
  image->cluster_id = kClusterId;
  return image;
}

ImagePtr apply_entry(const ImagePtr& base, const MemoryLog::Batch& entry) {
  if (entry.entry.control) return base;
  md::MetadataDelta delta(base);
  Offset offset = entry.base;
  for (const auto& r : entry.entry.records) delta.replay(bytes_of(r), offset++);
  return delta.apply();
}

std::string canonical(const broker::MetadataImage& image) {
  std::string out;
  for (const auto& r : md::image_to_records(image)) {
    std::string f = framed(r);
    out += std::to_string(f.size());
    out += ':';
    out += f;
  }
  return out;
}

ImagePtr image_from_canonical(const std::string& bytes) {
  md::MetadataDelta delta(empty_image());
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t colon = bytes.find(':', pos);
    if (colon == std::string::npos) throw std::runtime_error("malformed canonical image");
    size_t len = std::stoul(bytes.substr(pos, colon - pos));
    if (colon + 1 + len > bytes.size()) throw std::runtime_error("truncated canonical image");
    delta.replay(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()) + colon + 1, len), -1);
    pos = colon + 1 + len;
  }
  return delta.apply();
}

std::string encode_snapshot(const SimState& state, const ImagePtr& image) {
  std::string out = state.encode();
  out += '\n';
  if (image) out += canonical(*image);
  return out;
}

std::optional<DecodedSnapshot> decode_snapshot(const std::string& content) {
  size_t nl = content.find('\n');
  if (nl == std::string::npos) return std::nullopt;
  auto st = SimState::decode(content.substr(0, nl));
  if (!st) return std::nullopt;
  return DecodedSnapshot{*st, content.substr(nl + 1)};
}

std::vector<std::string> controller_write(const broker::MetadataImage& image, Offset next_offset, SimRandom& rng) {
  if (image.metadata_version == 0) return frame_all(md::bootstrap_records(broker::kLatestMetadataVersion));
  md::ControllerDefaults defaults;
  defaults.num_partitions = 1;
  defaults.default_replication_factor = 1;
  int64_t op = rng.next(10);
  if (op < 2 || image.brokers.empty()) {  // a broker (re)registers
    md::BrokerRegistrationInput in;
    in.broker_id = static_cast<int32_t>(1 + rng.next(kBrokers));
    in.cluster_id = kClusterId;
    in.incarnation_id = uuid_from(rng);
    in.listeners = {{"PLAINTEXT", "127.0.0.1", static_cast<uint16_t>(9000 + in.broker_id), "PLAINTEXT"}};
    in.features = {{std::string(broker::kMetadataVersionFeature), {1, broker::kLatestMetadataVersion}}};
    in.log_dirs = {uuid_from(rng)};
    if (rng.chance(0.5)) in.rack = "rack" + std::to_string(in.broker_id % 2);
    // Restarts are clean (KIP-966 PreviousBrokerEpoch): an unclean one would
    // also take the broker out of its ISRs.
    if (auto it = image.brokers.find(in.broker_id); it != image.brokers.end())
      in.previous_broker_epoch = it->second.epoch;
    return frame_all(md::register_broker(image, in, next_offset).records);
  }
  if (op < 4) {  // fence or unfence a registered broker
    auto it = image.brokers.begin();
    std::advance(it, rng.next(static_cast<int64_t>(image.brokers.size())));
    auto r = md::fence_broker(image, it->first, !it->second.fenced);
    if (auto* rec = std::get_if<md::RecordAndVersion>(&r)) return {framed(*rec)};
    return {};
  }
  std::string name = "t" + std::to_string(rng.next(kTopicNames));
  if (op < 7) {  // create a topic (and maybe a second one in the same write)
    std::vector<md::CreatableTopic> topics;
    for (int i = 0; i < (rng.chance(0.3) ? 2 : 1); ++i) {
      md::CreatableTopic t;
      t.name = i == 0 ? name : "t" + std::to_string(rng.next(kTopicNames));
      t.num_partitions = static_cast<int32_t>(1 + rng.next(3));
      t.replication_factor = static_cast<int16_t>(1 + rng.next(3));
      topics.push_back(std::move(t));
    }
    md::ReplicaPlacer placer(rng.next_u64());
    auto result = md::create_topics(image, topics, false, defaults, placer);
    make_topic_ids_deterministic(result.records, rng);
    return frame_all(result.records);
  }
  if (op < 9) {  // delete one
    md::DeleteTopicRef ref;
    ref.name = name;
    return frame_all(md::delete_topics(image, std::span<const md::DeleteTopicRef>(&ref, 1), defaults).records);
  }
  md::AlterConfigsResource res;  // change a topic config
  res.resource_type = 2;         // TOPIC
  res.resource_name = name;
  res.configs = {{"retention.ms", md::AlterConfigOp::kSet, std::to_string(1000 * (1 + rng.next(100)))}};
  return frame_all(md::incremental_alter_configs(image, std::span<const md::AlterConfigsResource>(&res, 1), false,
                                                 defaults)
                       .records);
}

}  // namespace samsa::raft::sim
