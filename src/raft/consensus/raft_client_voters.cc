// RaftClient: KIP-853 dynamic voters. The voter set in force is the newest
// Voters control record in the log (or in the snapshot the log starts from),
// else the configured initial set; the leader changes it one voter at a time.
#include <algorithm>

#include "samsa/raft/consensus/raft_client.h"

namespace samsa::raft {

using protocol::ErrorCode;

void RaftClient::load_voter_history() {
  std::vector<Voter> initial = config_.initial_voters;
  if (initial.empty())
    for (NodeId id : config_.voters) initial.push_back(voter_with_id(id));
  voter_history_ = VoterSetHistory(std::move(initial));
  if (config_.kraft_version == 0) return;  // static voters: the log's records are not obeyed
  if (auto snap = log_.latest_snapshot(); snap && config_.snapshot_voters) {
    if (auto content = log_.read_snapshot(*snap)) voter_history_.reset(snap->offset, config_.snapshot_voters(*content));
  }
  // The log tail: every Voters record after the snapshot (a log trimmed
  // below its snapshot is short, so this reads little).
  constexpr size_t kChunk = 1024;
  Offset at = log_.start_offset();
  while (at < log_.end_offset()) {
    std::vector<Entry> entries = log_.read(at, kChunk);
    if (entries.empty()) break;
    for (const Entry& e : entries) {
      voter_history_.on_append(at, e);
      at += e.size();
    }
  }
  sync_voters();
}

void RaftClient::voters_appended(Offset base, const std::vector<Entry>& entries) {
  if (config_.kraft_version == 0) return;
  bool changed = false;
  for (const Entry& e : entries) {
    if (e.control && e.control_type == kVotersControlType) {
      voter_history_.on_append(base, e);
      changed = true;
    }
    base += e.size();
  }
  if (changed) sync_voters();
}

void RaftClient::voters_truncated(Offset offset) {
  if (config_.kraft_version == 0 || voter_history_.latest_offset() < offset) return;
  voter_history_.on_truncate(offset);
  sync_voters();
}

void RaftClient::voters_reset(OffsetAndEpoch snapshot) {
  if (config_.kraft_version == 0) return;
  std::optional<std::vector<Voter>> voters;
  if (config_.snapshot_voters)
    if (auto content = log_.read_snapshot(snapshot)) voters = config_.snapshot_voters(*content);
  voter_history_.reset(snapshot.offset, std::move(voters));
  sync_voters();
}

void RaftClient::sync_voters() {
  std::vector<NodeId> ids = voter_ids(voter_history_.latest());
  if (ids == config_.voters) return;
  config_.voters = std::move(ids);
  if (auto* leader = std::get_if<std::unique_ptr<LeaderState>>(&state_)) (*leader)->set_voters(config_.voters);
  // A node removed from the voter set stops campaigning at once: its tally
  // would count itself toward a majority it is no longer part of.
  if (!is_voter()) {
    Role r = role();
    if (r == Role::kProspective || r == Role::kCandidate || r == Role::kResigned)
      become_unattached(election_.epoch, election_.voted_id);
  }
}

namespace {

bool contains(const std::vector<Voter>& voters, NodeId id) {
  return std::any_of(voters.begin(), voters.end(), [&](const Voter& v) { return v.voter_id == id; });
}

}  // namespace

RaftClient::VoterChange RaftClient::add_voter(const Voter& voter) {
  if (config_.kraft_version == 0) return {ErrorCode::UNSUPPORTED_VERSION};
  auto* leader = std::get_if<std::unique_ptr<LeaderState>>(&state_);
  if (leader == nullptr) return {ErrorCode::NOT_LEADER_OR_FOLLOWER};
  // One change at a time, and only once the leader committed in its epoch
  // (before that it cannot know which earlier change is in force for good).
  if (high_watermark_ <= (*leader)->epoch_start_offset() || voter_history_.latest_offset() >= high_watermark_)
    return {ErrorCode::REQUEST_TIMED_OUT};
  if (contains(voter_history_.latest(), voter.voter_id)) return {ErrorCode::DUPLICATE_VOTER};
  if (voter.voter_id < 0) return {ErrorCode::INVALID_REQUEST};
  // A voter that is far behind would stall the high watermark the moment it
  // counts: it must have held the leader's whole log recently.
  int64_t caught_up = (*leader)->last_caught_up_ms(voter.voter_id);
  if (caught_up < 0 || time_.now_ms() - caught_up > config_.fetch_timeout_ms) return {ErrorCode::REQUEST_TIMED_OUT};
  std::vector<Voter> next = voter_history_.latest();
  next.push_back(voter);
  return append_voters(std::move(next));
}

RaftClient::VoterChange RaftClient::remove_voter(NodeId id) {
  if (config_.kraft_version == 0) return {ErrorCode::UNSUPPORTED_VERSION};
  auto* leader = std::get_if<std::unique_ptr<LeaderState>>(&state_);
  if (leader == nullptr) return {ErrorCode::NOT_LEADER_OR_FOLLOWER};
  if (high_watermark_ <= (*leader)->epoch_start_offset() || voter_history_.latest_offset() >= high_watermark_)
    return {ErrorCode::REQUEST_TIMED_OUT};
  if (!contains(voter_history_.latest(), id)) return {ErrorCode::VOTER_NOT_FOUND};
  if (id == config_.node_id) return {ErrorCode::INVALID_REQUEST};
  std::vector<Voter> next = voter_history_.latest();
  std::erase_if(next, [&](const Voter& v) { return v.voter_id == id; });
  return append_voters(std::move(next));
}

RaftClient::VoterChange RaftClient::update_voter(const Voter& voter, Epoch request_epoch) {
  if (config_.kraft_version == 0) return {ErrorCode::UNSUPPORTED_VERSION};
  auto* leader = std::get_if<std::unique_ptr<LeaderState>>(&state_);
  // As Kafka validates a leader-only request: an older epoch is fenced, a
  // newer one means this node has not heard of it yet.
  if (request_epoch >= 0 && request_epoch < election_.epoch) return {ErrorCode::FENCED_LEADER_EPOCH};
  if (request_epoch > election_.epoch) return {ErrorCode::UNKNOWN_LEADER_EPOCH};
  if (leader == nullptr) return {ErrorCode::NOT_LEADER_OR_FOLLOWER};
  if (high_watermark_ <= (*leader)->epoch_start_offset() || voter_history_.latest_offset() >= high_watermark_)
    return {ErrorCode::REQUEST_TIMED_OUT};
  // The new range must be a range and include the kraft.version in force,
  // else the voter could not read the log it votes on.
  const auto& f = voter.kraft_version_feature;
  if (voter.endpoints.empty() || f.min_supported_version < 0 || f.min_supported_version > f.max_supported_version ||
      config_.kraft_version < f.min_supported_version || config_.kraft_version > f.max_supported_version)
    return {ErrorCode::INVALID_REQUEST};
  std::vector<Voter> next = voter_history_.latest();
  // The directory id must match too: a voter whose disk was replaced is a
  // new replica, to be added, not updated.
  auto it = std::find_if(next.begin(), next.end(), [&](const Voter& v) {
    return v.voter_id == voter.voter_id && v.voter_directory_id == voter.voter_directory_id;
  });
  if (it == next.end()) return {ErrorCode::VOTER_NOT_FOUND};
  it->endpoints = voter.endpoints;
  it->kraft_version_feature = voter.kraft_version_feature;
  return append_voters(std::move(next));
}

RaftClient::VoterChange RaftClient::append_voters(std::vector<Voter> next) {
  std::vector<Entry> entries{voters_entry(next)};
  Offset base = log_.append_as_leader(entries, election_.epoch);
  voters_appended(base, entries);
  complete_parked_fetches();  // followers learn the new set at once
  return {ErrorCode::NONE, base + 1};
}

}  // namespace samsa::raft
