// Partition reassignment (KIP-455) as Kafka's KRaft controller does it:
// ReplicationControlManager#alterPartitionReassignments, its
// PartitionReassignmentReplicas / PartitionReassignmentRevert and the
// completion step of PartitionChangeBuilder.
#include <map>
#include <set>

#include "controller_internal.h"
#include "leadership_internal.h"
#include "samsa/broker/metadata/leadership.h"

namespace samsa::broker::metadata {

using detail::acceptable_leader;
using detail::contains;
using protocol::ErrorCode;

namespace {

std::vector<int32_t> minus(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  std::vector<int32_t> out;
  for (int32_t x : a)
    if (!contains(b, x)) out.push_back(x);
  return out;
}

std::vector<int32_t> intersect(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  std::vector<int32_t> out;
  for (int32_t x : a)
    if (contains(b, x)) out.push_back(x);
  return out;
}

// Directories for a new replica list: a replica keeps its directory, a new
// one gets the default for its broker.
std::vector<protocol::Uuid> directories_for(const MetadataImage& image, const PartitionImage& p,
                                            const std::vector<int32_t>& replicas) {
  std::vector<protocol::Uuid> out;
  for (int32_t r : replicas) {
    auto it = std::find(p.replicas.begin(), p.replicas.end(), r);
    size_t i = static_cast<size_t>(it - p.replicas.begin());
    out.push_back(it != p.replicas.end() && i < p.directories.size() ? p.directories[i]
                                                                     : detail::default_dir(image, r));
  }
  return out;
}

// Sets replicas (and their directories when the record version has them).
void set_replicas(const MetadataImage& image, const PartitionImage& p, int16_t version,
                  const std::vector<int32_t>& replicas, protocol::PartitionChangeRecord& r) {
  r.replicas = replicas;
  if (version >= 1) r.directories = directories_for(image, p, replicas);
}

// The leader after the replicas / ISR change: the current one if it stays
// an acceptable ISR member, else the first acceptable replica in the ISR.
int32_t leader_after(const MetadataImage& image, const PartitionImage& p, const std::vector<int32_t>& replicas,
                     const std::vector<int32_t>& isr) {
  if (p.leader >= 0 && contains(replicas, p.leader) && contains(isr, p.leader) && acceptable_leader(image, p.leader))
    return p.leader;
  for (int32_t r : replicas)
    if (contains(isr, r) && acceptable_leader(image, r)) return r;
  return -1;
}

// Fills in the ISR and leader parts of `r` for a partition moving to
// `replicas` / `isr` (and the ELR, which may not name a replica that left).
void set_isr_and_leader(const MetadataImage& image, const PartitionImage& p, int16_t version,
                        const std::vector<int32_t>& replicas, const std::vector<int32_t>& isr,
                        protocol::PartitionChangeRecord& r) {
  if (isr != p.isr) r.isr = isr;
  int32_t leader = leader_after(image, p, replicas, isr);
  if (leader != p.leader) r.leader = leader;
  if (version >= 2) {
    auto elr = intersect(p.eligible_leader_replicas, replicas);
    if (elr != p.eligible_leader_replicas) r.eligible_leader_replicas = elr;
    auto last = intersect(p.last_known_elr, replicas);
    if (last != p.last_known_elr) r.last_known_elr = last;
  }
}

// The replicas before any reassignment in progress.
std::vector<int32_t> original_replicas(const PartitionImage& p) { return minus(p.replicas, p.adding_replicas); }

ApiError cancel(const MetadataImage& image, const TopicImage& topic, int32_t index, const PartitionImage& p,
                std::vector<RecordAndVersion>& records) {
  if (p.adding_replicas.empty() && p.removing_replicas.empty())
    return {ErrorCode::NO_REASSIGNMENT_IN_PROGRESS, "No ongoing reassignment for partition " + topic.name + "-" +
                                                        std::to_string(index) + "."};
  const int16_t version = partition_change_record_version(image.metadata_version);
  std::vector<int32_t> replicas = original_replicas(p);
  std::vector<int32_t> isr = minus(p.isr, p.adding_replicas);
  // Every ISR member was a new replica: as Kafka's revert, the first
  // original replica becomes the ISR (what it has is what survives).
  if (isr.empty() && !replicas.empty()) isr = {replicas.front()};
  protocol::PartitionChangeRecord r = detail::change_of(topic, index);
  set_replicas(image, p, version, replicas, r);
  r.adding_replicas = std::vector<int32_t>{};
  r.removing_replicas = std::vector<int32_t>{};
  set_isr_and_leader(image, p, version, replicas, isr, r);
  records.push_back({std::move(r), version});
  return ApiError::none();
}

ApiError reassign(const MetadataImage& image, const TopicImage& topic, int32_t index, const PartitionImage& p,
                  const std::vector<int32_t>& target, std::vector<RecordAndVersion>& records) {
  if (auto e = detail::check_manual_assignment(image, target, std::nullopt)) return *e;
  const int16_t version = partition_change_record_version(image.metadata_version);
  const std::vector<int32_t> current = original_replicas(p);
  std::vector<int32_t> removing = minus(current, target);
  std::vector<int32_t> adding = minus(target, current);
  std::vector<int32_t> replicas = target;
  for (int32_t r : removing) replicas.push_back(r);
  // Replicas of an earlier reassignment that the new target drops leave
  // the ISR with it.
  std::vector<int32_t> isr = intersect(p.isr, replicas);
  if (isr.empty()) isr = intersect(p.isr, current);

  PartitionImage next = p;
  next.replicas = replicas;
  next.adding_replicas = adding;
  next.removing_replicas = removing;
  next.isr = isr;
  protocol::PartitionChangeRecord r = detail::change_of(topic, index);
  if (auto done = reassignment_completion(image, topic, next)) {
    // Already covered by the ISR: one record takes it to the target.
    auto& c = std::get<protocol::PartitionChangeRecord>(done->record);
    set_replicas(image, p, version, *c.replicas, r);
    std::vector<int32_t> final_isr = c.isr ? *c.isr : isr;
    r.adding_replicas = std::vector<int32_t>{};
    r.removing_replicas = std::vector<int32_t>{};
    set_isr_and_leader(image, p, version, *r.replicas, final_isr, r);
  } else {
    if (replicas != p.replicas) set_replicas(image, p, version, replicas, r);
    if (adding != p.adding_replicas) r.adding_replicas = adding;
    if (removing != p.removing_replicas) r.removing_replicas = removing;
    set_isr_and_leader(image, p, version, replicas, isr, r);
  }
  // The target is what the partition has already: nothing to write.
  const bool changed = r.replicas || r.isr || r.leader != -2 || r.adding_replicas || r.removing_replicas;
  if (changed) records.push_back({std::move(r), version});
  return ApiError::none();
}

}  // namespace

AlterReassignmentsResult alter_partition_reassignments(const MetadataImage& image,
                                                       std::span<const ReassignmentTarget> targets) {
  AlterReassignmentsResult out;
  std::map<std::pair<std::string, int32_t>, int> seen;
  for (const auto& t : targets) ++seen[{t.topic, t.partition}];
  for (const auto& t : targets) {
    ApiError e;
    const TopicImage* topic = image.topic(t.topic);
    const PartitionImage* p = topic != nullptr ? topic->partition(t.partition) : nullptr;
    if (seen[{t.topic, t.partition}] > 1)
      e = {ErrorCode::INVALID_REQUEST, "Partition " + t.topic + "-" + std::to_string(t.partition) +
                                           " appears more than once in the request."};
    else if (p == nullptr)
      e = {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
           "Unable to find partition " + t.topic + "-" + std::to_string(t.partition) + "."};
    else if (!t.replicas)
      e = cancel(image, *topic, t.partition, *p, out.records);
    else
      e = reassign(image, *topic, t.partition, *p, *t.replicas, out.records);
    out.partitions.push_back({t.topic, t.partition, std::move(e)});
  }
  return out;
}

std::vector<OngoingReassignment> list_partition_reassignments(const MetadataImage& image,
                                                              const PartitionSelection& selection) {
  std::vector<OngoingReassignment> out;
  auto add = [&](const TopicImage& topic, const PartitionImage& p, int32_t index) {
    if (p.adding_replicas.empty() && p.removing_replicas.empty()) return;
    out.push_back({topic.name, index, p.replicas, p.adding_replicas, p.removing_replicas});
  };
  if (!selection) {
    for (const auto& [name, topic] : image.topics->by_name)
      for (const auto& [index, p] : topic->partitions) add(*topic, p, index);
    return out;
  }
  for (const auto& [name, partitions] : *selection) {
    const TopicImage* topic = image.topic(name);
    if (topic == nullptr) continue;
    std::set<int32_t> done;
    for (int32_t index : partitions)
      if (const PartitionImage* p = topic->partition(index); p != nullptr && done.insert(index).second)
        add(*topic, *p, index);
  }
  return out;
}

std::optional<RecordAndVersion> reassignment_completion(const MetadataImage& image, const TopicImage& topic,
                                                        const PartitionImage& p) {
  if (p.adding_replicas.empty() && p.removing_replicas.empty()) return std::nullopt;
  for (int32_t r : p.adding_replicas)
    if (!contains(p.isr, r)) return std::nullopt;
  std::vector<int32_t> replicas = minus(p.replicas, p.removing_replicas);
  std::vector<int32_t> isr = minus(p.isr, p.removing_replicas);
  if (replicas.empty() || isr.empty()) return std::nullopt;
  const int16_t version = partition_change_record_version(image.metadata_version);
  protocol::PartitionChangeRecord r = detail::change_of(topic, p.partition_id);
  set_replicas(image, p, version, replicas, r);
  r.adding_replicas = std::vector<int32_t>{};
  r.removing_replicas = std::vector<int32_t>{};
  set_isr_and_leader(image, p, version, replicas, isr, r);
  return RecordAndVersion{std::move(r), version};
}

std::vector<RecordAndVersion> complete_reassignments(const MetadataImage& image) {
  std::vector<RecordAndVersion> out;
  for (const auto& [name, topic] : image.topics->by_name)
    for (const auto& [index, p] : topic->partitions) {
      if (p.adding_replicas.empty() && p.removing_replicas.empty()) continue;
      PartitionImage copy = p;
      copy.partition_id = index;
      if (auto r = reassignment_completion(image, *topic, copy)) out.push_back(std::move(*r));
    }
  return out;
}

bool any_reassignment_in_progress(const MetadataImage& image) {
  for (const auto& [name, topic] : image.topics->by_name)
    for (const auto& [index, p] : topic->partitions)
      if (!p.adding_replicas.empty() || !p.removing_replicas.empty()) return true;
  return false;
}

}  // namespace samsa::broker::metadata
