#include "follower_fetch_session.h"

#include "samsa/protocol/error_code.h"

namespace samsa::broker::replica {

namespace {

using FetchPartition = protocol::FetchRequest::FetchTopic::FetchPartition;

bool same_fields(const FetchPartition& a, const FetchPartition& b) {
  return a.partition == b.partition && a.current_leader_epoch == b.current_leader_epoch &&
         a.fetch_offset == b.fetch_offset && a.last_fetched_epoch == b.last_fetched_epoch &&
         a.log_start_offset == b.log_start_offset && a.partition_max_bytes == b.partition_max_bytes;
}

void add_partition(protocol::FetchRequest& request, const FollowerFetchSession::PartitionFetch& p) {
  if (request.topics.empty() || request.topics.back().topic_id != p.topic_id) {
    auto& t = request.topics.emplace_back();
    t.topic = p.topic;
    t.topic_id = p.topic_id;
  }
  request.topics.back().partitions.push_back(p.fields);
}

int32_t next_epoch(int32_t epoch) { return epoch == INT32_MAX ? 1 : epoch + 1; }

}  // namespace

void FollowerFetchSession::build(const std::vector<PartitionFetch>& wanted, protocol::FetchRequest& request) {
  request.topics.clear();
  request.forgotten_topics_data.clear();
  pending_.clear();
  for (const auto& p : wanted) pending_[{p.topic_id.bytes, p.fields.partition}] = p;
  request.session_id = session_id_;
  if (!incremental()) {
    // Full: every partition; epoch 0 opens a session (closing the one
    // named, if any).
    request.session_epoch = 0;
    in_flight_full_ = true;
    for (const auto& p : wanted) add_partition(request, p);
    return;
  }
  in_flight_full_ = false;
  request.session_epoch = epoch_;
  for (const auto& p : wanted) {
    auto it = sent_.find({p.topic_id.bytes, p.fields.partition});
    if (it == sent_.end() || !same_fields(it->second.fields, p.fields)) add_partition(request, p);
  }
  for (const auto& [key, p] : sent_) {
    if (pending_.count(key)) continue;
    if (request.forgotten_topics_data.empty() || request.forgotten_topics_data.back().topic_id != p.topic_id) {
      auto& f = request.forgotten_topics_data.emplace_back();
      f.topic = p.topic;
      f.topic_id = p.topic_id;
    }
    request.forgotten_topics_data.back().partitions.push_back(key.second);
  }
}

bool FollowerFetchSession::on_response(const protocol::FetchResponse& response) {
  const auto error = static_cast<protocol::ErrorCode>(response.error_code);
  if (error == protocol::ErrorCode::FETCH_SESSION_ID_NOT_FOUND ||
      error == protocol::ErrorCode::INVALID_FETCH_SESSION_EPOCH) {
    reset();
    return false;
  }
  if (error != protocol::ErrorCode::NONE) {
    reset();
    return true;  // not a session error: the caller handles it
  }
  if (in_flight_full_) {
    // Session id 0: the leader keeps no session (cache full); full fetches
    // until one is granted.
    session_id_ = response.session_id;
    epoch_ = session_id_ != 0 ? 1 : 0;
  } else {
    epoch_ = next_epoch(epoch_);
  }
  sent_ = std::move(pending_);
  pending_.clear();
  return true;
}

void FollowerFetchSession::reset() {
  // The next full fetch names the old id with epoch 0, which also closes it
  // at the leader if it still exists there.
  epoch_ = 0;
  sent_.clear();
  pending_.clear();
  in_flight_full_ = false;
}

}  // namespace samsa::broker::replica
