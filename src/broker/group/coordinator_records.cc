// Kafka's __consumer_offsets record formats (coordinator/*.json), written
// with the versions Kafka 4.0 writes so Apache Kafka can read our files and
// we can read Kafka's: OffsetCommitKey v1, GroupMetadataKey v2,
// OffsetCommitValue v3 (v1 with an explicit expire timestamp),
// GroupMetadataValue v3.
#include "samsa/broker/group/coordinator_records.h"

#include <utility>

#include "samsa/protocol/gen/group_metadata_key.h"
#include "samsa/protocol/gen/group_metadata_value.h"
#include "samsa/protocol/gen/offset_commit_key.h"
#include "samsa/protocol/gen/offset_commit_value.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::broker::group {

namespace {

// The int16 in front of every key says which record it is.
constexpr int16_t kOffsetCommitKeyVersion = 1;  // 0 is read too (same layout)
constexpr int16_t kGroupMetadataKeyVersion = 2;
constexpr int16_t kOffsetCommitValueVersion = 3;
constexpr int16_t kOffsetCommitValueWithExpiryVersion = 1;  // the only version with expireTimestamp
constexpr int16_t kGroupMetadataValueVersion = 3;
// Kafka's sentinel for "no expire timestamp" (OffsetCommitRequest.DEFAULT_TIMESTAMP).
constexpr int64_t kNoTimestamp = -1;

template <typename Message>
void put_versioned(protocol::WireWriter& w, const Message& m, int16_t version) {
  w.int16(version);
  m.encode(w, version);
}

OffsetAndMetadata from_value(const protocol::OffsetCommitValue& v) {
  OffsetAndMetadata o;
  o.offset = v.offset;
  o.leader_epoch = v.leader_epoch;  // -1 in versions before 3
  o.metadata = v.metadata;
  o.commit_timestamp_ms = v.commit_timestamp;
  if (v.expire_timestamp != kNoTimestamp) o.expire_timestamp_ms = v.expire_timestamp;
  return o;
}

GroupRecord from_value(protocol::GroupMetadataValue&& v) {
  GroupRecord g;
  g.protocol_type = std::move(v.protocol_type);
  g.generation = v.generation;
  g.protocol = std::move(v.protocol);
  g.leader = std::move(v.leader);
  g.current_state_timestamp_ms = v.current_state_timestamp;
  g.members.reserve(v.members.size());
  for (auto& m : v.members) {
    MemberRecord r;
    r.member_id = std::move(m.member_id);
    r.group_instance_id = std::move(m.group_instance_id);
    r.client_id = std::move(m.client_id);
    r.client_host = std::move(m.client_host);
    r.rebalance_timeout_ms = m.rebalance_timeout;
    r.session_timeout_ms = m.session_timeout;
    r.subscription = std::move(m.subscription);
    r.assignment = std::move(m.assignment);
    g.members.push_back(std::move(r));
  }
  return g;
}

protocol::GroupMetadataValue to_value(const GroupRecord& g) {
  protocol::GroupMetadataValue v;
  v.protocol_type = g.protocol_type;
  v.generation = g.generation;
  v.protocol = g.protocol;
  v.leader = g.leader;
  v.current_state_timestamp = g.current_state_timestamp_ms;
  v.members.reserve(g.members.size());
  for (const auto& m : g.members) {
    auto& out = v.members.emplace_back();
    out.member_id = m.member_id;
    out.group_instance_id = m.group_instance_id;
    out.client_id = m.client_id;
    out.client_host = m.client_host;
    out.rebalance_timeout = m.rebalance_timeout_ms;
    out.session_timeout = m.session_timeout_ms;
    out.subscription = m.subscription;
    out.assignment = m.assignment;
  }
  return v;
}

// Reads the int16 value version and the value at that version; the
// generated decoder throws DecodeError for versions it does not know.
template <typename Message>
Message read_value(std::span<const uint8_t> bytes) {
  protocol::WireReader r(bytes);
  const int16_t version = r.int16();
  Message m;
  m.decode(r, version);
  return m;
}

// ---- UTF-8 -> UTF-16, as Java's new String(bytes, UTF_8) does it ----

constexpr char32_t kReplacement = 0xFFFD;

bool in(uint8_t b, uint8_t lo, uint8_t hi) { return b >= lo && b <= hi; }

// Decodes one code point at s[i], advancing i. Malformed input becomes
// U+FFFD per maximal ill-formed subpart, like the JDK decoder; an encoded
// surrogate (ED A0..BF xx) is one U+FFFD for all three bytes, as in Java.
char32_t next_code_point(const std::string& s, size_t& i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i++);
  if (b0 < 0x80) return b0;
  int extra;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  char32_t cp;
  if (in(b0, 0xC2, 0xDF)) {
    extra = 1, cp = b0 & 0x1F;
  } else if (in(b0, 0xE0, 0xEF)) {
    extra = 2, cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
  } else if (in(b0, 0xF0, 0xF4)) {
    extra = 3, cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return kReplacement;  // continuation byte or impossible lead
  }
  for (int k = 0; k < extra; ++k) {
    if (i >= s.size()) return kReplacement;
    const uint8_t b = byte(i);
    if (k == 0 ? !in(b, lo, hi) : !in(b, 0x80, 0xBF)) return kReplacement;  // b starts the next unit
    cp = (cp << 6) | (b & 0x3F);
    ++i;
  }
  if (cp >= 0xD800 && cp <= 0xDFFF) return kReplacement;
  return cp;
}

}  // namespace

CoordinatorRecord CoordinatorRecord::offset_commit(std::string group_id, std::string topic, int32_t partition,
                                                   std::optional<OffsetAndMetadata> value) {
  CoordinatorRecord r;
  r.kind = Kind::kOffsetCommit;
  r.group_id = std::move(group_id);
  r.topic = std::move(topic);
  r.partition = partition;
  r.offset = std::move(value);
  return r;
}

CoordinatorRecord CoordinatorRecord::group_metadata(std::string group_id, std::optional<GroupRecord> value) {
  CoordinatorRecord r;
  r.kind = Kind::kGroupMetadata;
  r.group_id = std::move(group_id);
  r.group = std::move(value);
  return r;
}

std::vector<uint8_t> encode_key(const CoordinatorRecord& record) {
  protocol::WireWriter w;
  if (record.kind == CoordinatorRecord::Kind::kOffsetCommit) {
    protocol::OffsetCommitKey k;
    k.group = record.group_id;
    k.topic = record.topic;
    k.partition = record.partition;
    put_versioned(w, k, kOffsetCommitKeyVersion);
  } else {
    protocol::GroupMetadataKey k;
    k.group = record.group_id;
    put_versioned(w, k, kGroupMetadataKeyVersion);
  }
  return w.take();
}

std::optional<std::vector<uint8_t>> encode_value(const CoordinatorRecord& record) {
  protocol::WireWriter w;
  if (record.kind == CoordinatorRecord::Kind::kOffsetCommit) {
    if (!record.offset) return std::nullopt;
    const OffsetAndMetadata& o = *record.offset;
    protocol::OffsetCommitValue v;
    v.offset = o.offset;
    v.leader_epoch = o.leader_epoch;
    v.metadata = o.metadata;
    v.commit_timestamp = o.commit_timestamp_ms;
    // Only v1 carries expireTimestamp (and v1 has no leader epoch): Kafka
    // writes v1 exactly when the client asked for explicit retention.
    if (o.expire_timestamp_ms) {
      v.expire_timestamp = *o.expire_timestamp_ms;
      put_versioned(w, v, kOffsetCommitValueWithExpiryVersion);
    } else {
      put_versioned(w, v, kOffsetCommitValueVersion);
    }
  } else {
    if (!record.group) return std::nullopt;
    put_versioned(w, to_value(*record.group), kGroupMetadataValueVersion);
  }
  return w.take();
}

std::optional<CoordinatorRecord> decode_record(std::span<const uint8_t> key,
                                               std::optional<std::span<const uint8_t>> value) {
  protocol::WireReader kr(key);
  const int16_t key_version = kr.int16();
  if (key_version == 0 || key_version == 1) {
    protocol::OffsetCommitKey k;
    k.decode(kr, key_version);
    std::optional<OffsetAndMetadata> offset;
    if (value) offset = from_value(read_value<protocol::OffsetCommitValue>(*value));
    return CoordinatorRecord::offset_commit(std::move(k.group), std::move(k.topic), k.partition, std::move(offset));
  }
  if (key_version == kGroupMetadataKeyVersion) {
    protocol::GroupMetadataKey k;
    k.decode(kr, key_version);
    std::optional<GroupRecord> group;
    if (value) group = from_value(read_value<protocol::GroupMetadataValue>(*value));
    return CoordinatorRecord::group_metadata(std::move(k.group), std::move(group));
  }
  // KIP-848 consumer groups (3-8), share groups and anything newer belong
  // to other coordinators.
  return std::nullopt;
}

int32_t partition_for(const std::string& group_id, int32_t partitions) {
  // String.hashCode: h = 31 * h + c over UTF-16 code units, wrapping.
  uint32_t h = 0;
  for (size_t i = 0; i < group_id.size();) {
    const char32_t cp = next_code_point(group_id, i);
    if (cp < 0x10000) {
      h = 31 * h + cp;
    } else {
      const char32_t v = cp - 0x10000;
      h = 31 * h + (0xD800 + (v >> 10));
      h = 31 * h + (0xDC00 + (v & 0x3FF));
    }
  }
  const auto hash = static_cast<int32_t>(h);
  // Utils.abs: Integer.MIN_VALUE maps to 0 rather than to itself.
  const int32_t abs = hash == INT32_MIN ? 0 : (hash < 0 ? -hash : hash);
  return abs % partitions;
}

}  // namespace samsa::broker::group
