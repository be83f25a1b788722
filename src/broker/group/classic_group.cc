#include "samsa/broker/group/classic_group.h"

#include <algorithm>
#include <cctype>

#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/wire_reader.h"

namespace samsa::broker::group {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The topics of a ConsumerProtocolSubscription (every version starts with
// int16 version, then an array of topic names).
std::vector<std::string> subscription_topics(const std::vector<uint8_t>& bytes) {
  protocol::WireReader r(bytes);
  (void)r.int16();
  int32_t n = r.int32();
  if (n < 0 || static_cast<size_t>(n) > r.remaining()) throw protocol::DecodeError("bad topic count");
  std::vector<std::string> topics;
  for (int32_t i = 0; i < n; ++i) topics.push_back(r.string(false));
  return topics;
}

}  // namespace

const char* state_name(GroupState state) {
  switch (state) {
    case GroupState::kEmpty: return "Empty";
    case GroupState::kPreparingRebalance: return "PreparingRebalance";
    case GroupState::kCompletingRebalance: return "CompletingRebalance";
    case GroupState::kStable: return "Stable";
    case GroupState::kDead: return "Dead";
  }
  return "Unknown";
}

std::optional<GroupState> parse_state(std::string_view name) {
  for (auto s : {GroupState::kEmpty, GroupState::kPreparingRebalance, GroupState::kCompletingRebalance,
                 GroupState::kStable, GroupState::kDead})
    if (iequals(name, state_name(s))) return s;
  return std::nullopt;
}

const std::vector<uint8_t>* Member::metadata_for(const std::string& protocol) const {
  for (const auto& p : protocols)
    if (p.name == protocol) return &p.metadata;
  return nullptr;
}

void Group::transition(GroupState next, int64_t now_ms) {
  state_ = next;
  state_timestamp_ms_ = now_ms;
}

Member* Group::member(const std::string& id) {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

void Group::add(Member member) {
  if (members_.empty()) protocol_type_ = member.protocol_type;
  if (!leader_) leader_ = member.member_id;
  if (member.group_instance_id) static_members_[*member.group_instance_id] = member.member_id;
  pending_.erase(member.member_id);
  std::string id = member.member_id;
  members_.insert_or_assign(std::move(id), std::move(member));
}

void Group::remove(const std::string& member_id) {
  auto it = members_.find(member_id);
  if (it == members_.end()) return;
  if (it->second.group_instance_id) {
    auto s = static_members_.find(*it->second.group_instance_id);
    if (s != static_members_.end() && s->second == member_id) static_members_.erase(s);
  }
  members_.erase(it);
  pending_sync.erase(member_id);
  if (is_leader(member_id)) {
    leader_.reset();
    if (!members_.empty()) leader_ = members_.begin()->first;
  }
}

std::optional<std::string> Group::static_member(const std::string& instance_id) const {
  auto it = static_members_.find(instance_id);
  if (it == static_members_.end()) return std::nullopt;
  return it->second;
}

protocol::ErrorCode Group::validate_member(const std::string& member_id,
                                           const std::optional<std::string>& instance_id) const {
  if (instance_id) {
    auto holder = static_member(*instance_id);
    if (!holder) return protocol::ErrorCode::UNKNOWN_MEMBER_ID;
    if (*holder != member_id) return protocol::ErrorCode::FENCED_INSTANCE_ID;
  }
  return has_member(member_id) ? protocol::ErrorCode::NONE : protocol::ErrorCode::UNKNOWN_MEMBER_ID;
}

void Deferred::join(JoinCallback& cb, JoinResult result) {
  if (!cb) return;
  add([cb = std::exchange(cb, nullptr), r = std::move(result)]() mutable { cb(std::move(r)); });
}

void Deferred::sync(SyncCallback& cb, SyncResult result) {
  if (!cb) return;
  add([cb = std::exchange(cb, nullptr), r = std::move(result)]() mutable { cb(std::move(r)); });
}

void Group::replace_static_member(const std::string& instance_id, const std::string& old_id,
                                  const std::string& new_id, Deferred& later) {
  auto it = members_.find(old_id);
  if (it == members_.end()) return;
  Member m = std::move(it->second);
  members_.erase(it);
  JoinResult join_fenced;
  join_fenced.error = protocol::ErrorCode::FENCED_INSTANCE_ID;
  join_fenced.member_id = old_id;
  later.join(m.awaiting_join, std::move(join_fenced));
  SyncResult sync_fenced;
  sync_fenced.error = protocol::ErrorCode::FENCED_INSTANCE_ID;
  later.sync(m.awaiting_sync, std::move(sync_fenced));
  if (pending_sync.erase(old_id)) pending_sync.insert(new_id);
  m.member_id = new_id;
  members_.insert_or_assign(new_id, std::move(m));
  static_members_[instance_id] = new_id;
  if (is_leader(old_id)) leader_ = new_id;
}

size_t Group::awaiting_join_count() const {
  return static_cast<size_t>(
      std::count_if(members_.begin(), members_.end(), [](const auto& kv) { return bool(kv.second.awaiting_join); }));
}

int32_t Group::max_rebalance_timeout_ms() const {
  int32_t t = 0;
  for (const auto& [_, m] : members_) t = std::max(t, m.rebalance_timeout_ms);
  return t;
}

bool Group::supports(const std::string& protocol_type, const std::vector<Protocol>& protocols) const {
  if (members_.empty()) return !protocol_type.empty() && !protocols.empty();
  if (!protocol_type_ || *protocol_type_ != protocol_type) return false;
  // Some protocol of the joiner must be supported by every member.
  return std::any_of(protocols.begin(), protocols.end(), [&](const Protocol& p) {
    return std::all_of(members_.begin(), members_.end(),
                       [&](const auto& kv) { return kv.second.metadata_for(p.name) != nullptr; });
  });
}

std::string Group::select_protocol() const {
  if (members_.empty()) return {};
  // Candidates: protocols every member supports, in the first member's order.
  std::vector<std::string> candidates;
  for (const auto& p : members_.begin()->second.protocols) {
    bool all = std::all_of(members_.begin(), members_.end(),
                           [&](const auto& kv) { return kv.second.metadata_for(p.name) != nullptr; });
    if (all) candidates.push_back(p.name);
  }
  if (candidates.empty()) return {};
  // Each member votes for its most preferred candidate.
  std::map<std::string, int> votes;
  for (const auto& [_, m] : members_)
    for (const auto& p : m.protocols)
      if (std::find(candidates.begin(), candidates.end(), p.name) != candidates.end()) {
        ++votes[p.name];
        break;
      }
  std::string best = candidates.front();
  for (const auto& c : candidates)
    if (votes[c] > votes[best]) best = c;
  return best;
}

void Group::elect_leader_if_needed() {
  if (leader_ && members_.count(*leader_) && members_.at(*leader_).awaiting_join) return;
  leader_.reset();
  for (const auto& [id, m] : members_)
    if (m.awaiting_join) {
      leader_ = id;
      return;
    }
  if (!members_.empty()) leader_ = members_.begin()->first;
}

void Group::init_next_generation(int64_t now_ms) {
  ++generation_;
  if (!members_.empty()) {
    protocol_name_ = select_protocol();
    transition(GroupState::kCompletingRebalance, now_ms);
  } else {
    protocol_name_.reset();
    leader_.reset();
    transition(GroupState::kEmpty, now_ms);
  }
}

std::vector<JoinResult::Member> Group::member_metadata() const {
  std::vector<JoinResult::Member> out;
  for (const auto& [id, m] : members_) {
    const auto* md = protocol_name_ ? m.metadata_for(*protocol_name_) : nullptr;
    out.push_back({id, m.group_instance_id, md ? *md : std::vector<uint8_t>{}});
  }
  return out;
}

std::optional<std::set<std::string>> Group::subscribed_topics() const {
  if (!protocol_type_ || *protocol_type_ != "consumer" || !protocol_name_) return std::nullopt;
  std::set<std::string> topics;
  try {
    for (const auto& [_, m] : members_)
      if (const auto* md = m.metadata_for(*protocol_name_))
        for (auto& t : subscription_topics(*md)) topics.insert(std::move(t));
  } catch (const protocol::DecodeError&) {
    return std::nullopt;
  }
  return topics;
}

GroupRecord Group::to_record() const {
  GroupRecord r;
  r.protocol_type = protocol_type_.value_or("");
  r.generation = generation_;
  r.protocol = protocol_name_;
  r.leader = leader_;
  r.current_state_timestamp_ms = state_timestamp_ms_;
  for (const auto& [id, m] : members_) {
    MemberRecord mr;
    mr.member_id = id;
    mr.group_instance_id = m.group_instance_id;
    mr.client_id = m.client_id;
    mr.client_host = m.client_host;
    mr.rebalance_timeout_ms = m.rebalance_timeout_ms;
    mr.session_timeout_ms = m.session_timeout_ms;
    if (protocol_name_)
      if (const auto* md = m.metadata_for(*protocol_name_)) mr.subscription = *md;
    mr.assignment = m.assignment;
    r.members.push_back(std::move(mr));
  }
  return r;
}

void Group::load(const GroupRecord& record, int64_t now_ms) {
  members_.clear();
  static_members_.clear();
  protocol_type_ = record.protocol_type.empty() ? std::nullopt : std::optional(record.protocol_type);
  generation_ = record.generation;
  protocol_name_ = record.protocol;
  leader_ = record.leader;
  for (const auto& mr : record.members) {
    Member m;
    m.member_id = mr.member_id;
    m.group_instance_id = mr.group_instance_id;
    m.client_id = mr.client_id;
    m.client_host = mr.client_host;
    m.rebalance_timeout_ms = mr.rebalance_timeout_ms < 0 ? mr.session_timeout_ms : mr.rebalance_timeout_ms;
    m.session_timeout_ms = mr.session_timeout_ms;
    m.protocol_type = record.protocol_type;
    if (record.protocol) m.protocols.push_back({*record.protocol, mr.subscription});
    m.assignment = mr.assignment;
    m.heartbeat_deadline_ms = now_ms + m.session_timeout_ms;
    if (m.group_instance_id) static_members_[*m.group_instance_id] = m.member_id;
    members_.emplace(m.member_id, std::move(m));
  }
  int64_t ts = record.current_state_timestamp_ms >= 0 ? record.current_state_timestamp_ms : now_ms;
  transition(members_.empty() ? GroupState::kEmpty : GroupState::kStable, ts);
}

void Group::apply_offset(const std::pair<std::string, int32_t>& key, const std::optional<OffsetAndMetadata>& value,
                         int64_t log_offset) {
  auto& applied = offset_log_offsets_[key];  // 0 when new: any write is later
  if (log_offset >= 0) {
    if (log_offset < applied) return;
    applied = log_offset;
  }
  if (value) {
    offsets_[key] = *value;
    return;
  }
  offsets_.erase(key);
  for (auto it = pending_txn_.begin(); it != pending_txn_.end();) {
    auto p = it->second.find(key);
    if (p != it->second.end() && (log_offset < 0 || p->second.log_offset < log_offset)) it->second.erase(p);
    it = it->second.empty() ? pending_txn_.erase(it) : std::next(it);
  }
}

}  // namespace samsa::broker::group
