#include "samsa/raft/consensus/voter_set.h"

#include <exception>
#include <memory>
#include <span>

#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::raft {

std::vector<NodeId> voter_ids(const std::vector<Voter>& voters) {
  std::vector<NodeId> ids;
  ids.reserve(voters.size());
  for (const auto& v : voters) ids.push_back(v.voter_id);
  return ids;
}

Voter voter_with_id(NodeId id) {
  Voter v;
  v.voter_id = id;
  // kraft.version 0..1: a node that knows Voters records.
  v.kraft_version_feature.min_supported_version = 0;
  v.kraft_version_feature.max_supported_version = 1;
  return v;
}

std::string encode_voters_record(const std::vector<Voter>& voters) {
  protocol::VotersRecord r;
  r.version = 0;
  r.voters = voters;
  protocol::WireWriter w;
  r.encode(w, 0);
  return {w.view().begin(), w.view().end()};
}

std::optional<std::vector<Voter>> decode_voters_record(const std::string& value) {
  try {
    auto buf = std::make_shared<std::vector<uint8_t>>(value.begin(), value.end());
    protocol::WireReader reader(std::span<const uint8_t>(buf->data(), buf->size()), buf);
    protocol::VotersRecord r;
    r.decode(reader, 0);
    return std::move(r.voters);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<std::vector<Voter>> voters_of(const Entry& entry) {
  if (!entry.control || entry.control_type != kVotersControlType || entry.records.empty()) return std::nullopt;
  return decode_voters_record(entry.records.back());
}

Entry voters_entry(const std::vector<Voter>& voters) {
  return Entry{0, true, kVotersControlType, {encode_voters_record(voters)}};
}

const std::vector<Voter>& VoterSetHistory::latest() const {
  return changes_.empty() ? initial_ : changes_.rbegin()->second;
}

const std::vector<Voter>& VoterSetHistory::at(Offset offset) const {
  auto it = changes_.lower_bound(offset);
  if (it == changes_.begin()) return initial_;
  return std::prev(it)->second;
}

void VoterSetHistory::on_append(Offset base, const Entry& entry) {
  if (auto voters = voters_of(entry)) changes_[base] = std::move(*voters);
}

void VoterSetHistory::on_truncate(Offset offset) { changes_.erase(changes_.lower_bound(offset), changes_.end()); }

void VoterSetHistory::reset(Offset offset, std::optional<std::vector<Voter>> voters) {
  changes_.clear();
  // The snapshot's set holds for everything from its offset on; older
  // offsets are gone from the log, so the set below it no longer matters.
  if (voters) changes_[offset > 0 ? offset - 1 : 0] = std::move(*voters);
}

}  // namespace samsa::raft
