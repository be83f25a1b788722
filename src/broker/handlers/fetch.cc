// Fetch (key 1), versions 4-17, as Kafka 4.0's KafkaApis.handleFetchRequest
// and ReplicaManager.fetchMessages answer a consumer fetch: record data goes
// out zero-copy (file ranges the connection sends with sendfile/pread);
// fetches that find less than min_bytes wait (long poll) until a produce to
// one of their partitions or max_wait_ms.
//
// Fetch sessions (KIP-227): full fetches with epoch 0 open a session
// (fetch_session.h), incremental ones (epoch > 0) update it and get only the
// partitions with news; epoch -1 fetches are sessionless.
// Follower fetches (replica_id before v15, replica_state from v15, >= 0) are
// the leader side of replication (Kafka's Partition.fetchRecords): the
// sender must be a replica, reads go up to the log end, a follower whose
// last fetched epoch diverges from this log gets diverging_epoch and no
// records (v12+), and each read records the follower's position, which may
// move the high watermark (waking acks=all produces and consumers) and
// expand the ISR. Consumers read up to the high watermark, read_committed
// ones (isolation_level 1) up to the last stable offset, with the aborted
// transactions of the range they got.
#include <algorithm>
#include <atomic>
#include <chrono>

#include "leader_endpoints.h"
#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/fetch/fetch_session.h"
#include "samsa/broker/fetch/fetch_waiters.h"
#include "samsa/broker/fetch/partition_access.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/replica/replica_selector.h"
#include "samsa/broker/replica/replication_quota.h"
#include "samsa/broker/scheduler.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/fetch_request.h"
#include "samsa/protocol/gen/fetch_response.h"
#include "samsa/net/io_context_pool.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace samsa::broker {

using protocol::ErrorCode;
using protocol::FetchRequest;
using protocol::FetchResponse;
using PartitionData = FetchResponse::FetchableTopicResponse::PartitionData;

namespace {

constexpr int16_t kFirstTopicIdVersion = 13;
constexpr int8_t kReadCommitted = 1;

// Everything a fetch needs after the handler returned (delayed completion).
struct FetchState {
  BrokerServices* services = nullptr;
  int16_t version = 0;
  FetchRequest request;
  std::vector<std::optional<std::string>> names;  // per request topic; nullopt: unknown topic id
  Responder responder;
  std::shared_ptr<FetchSession> session;  // incremental fetch of this session
  bool create_session = false;            // full fetch with epoch 0
  int32_t replica_id = -1;                // >= 0: a follower's fetch
  int64_t replica_epoch = -1;             // its broker epoch (v15+), KIP-903
  std::string listener = {};              // the listener it came in on (KIP-951 / KIP-392 endpoints)
};

struct ReadResult {
  FetchResponse response;
  size_t bytes = 0;
  bool error = false;  // a partition failed: Kafka answers at once
  bool redirected = false;  // KIP-392: a partition names a preferred read replica; answered at once too
  size_t readable = 0;  // partitions looked up in the log (not unknown topic ids)
  // Partitions whose high watermark this (follower) fetch moved: notified
  // once the fetch decided what to do, so no waiter runs inside read_all.
  std::vector<FetchWaiters::Key> moved;
};

PartitionData error_partition(int32_t index, ErrorCode e) {
  PartitionData pd;
  pd.partition_index = index;
  pd.error_code = protocol::code(e);
  pd.high_watermark = -1;
  pd.last_stable_offset = -1;
  pd.log_start_offset = -1;
  return pd;
}

// KIP-392: the replica a consumer of this leader should read, or -1.
int32_t preferred_read_replica(const FetchState& s, const MetadataImage& image, const replica::Partition& partition,
                               int64_t fetch_offset) {
  const auto& selector = s.services->config != nullptr ? s.services->config->replica_selector_class : std::nullopt;
  if (!selector || *selector != replica::kRackAwareReplicaSelector || s.request.rack_id.empty()) return -1;
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  return replica::preferred_read_replica(image, partition, s.listener, s.request.rack_id, fetch_offset, now);
}

ReadResult read_all(const FetchState& s) {
  ReadResult out;
  auto& response = out.response;
  response.session_id = 0;
  auto image = s.services->metadata.current();
  const auto& req = s.request;
  const bool committed = req.isolation_level == kReadCommitted;
  int64_t budget = std::max<int32_t>(req.max_bytes, 0);
  bool min_one = true;  // Kafka: the first partition with data may exceed max_bytes

  for (size_t ti = 0; ti < req.topics.size(); ++ti) {
    const auto& topic = req.topics[ti];
    auto& tr = response.responses.emplace_back();
    tr.topic = topic.topic;
    tr.topic_id = topic.topic_id;
    for (const auto& p : topic.partitions) {
      if (!s.names[ti]) {
        tr.partitions.push_back(error_partition(p.partition, ErrorCode::UNKNOWN_TOPIC_ID));
        continue;
      }
      ++out.readable;
      const bool follower = s.replica_id >= 0;
      // KIP-392: a consumer that sends its rack (v11+) may read a follower.
      const bool from_follower_ok = !follower && s.version >= 11;
      auto found = from_follower_ok
                       ? lookup_hosted_partition(*s.services, *image, *s.names[ti], p.partition, p.current_leader_epoch)
                       : lookup_leader_partition(*s.services, *image, *s.names[ti], p.partition, p.current_leader_epoch);
      // Only a replica of the partition may fetch as one.
      if (found.error == ErrorCode::NONE && follower && !found.partition->is_replica(s.replica_id))
        found = {nullptr, ErrorCode::NOT_LEADER_OR_FOLLOWER};
      if (found.error != ErrorCode::NONE) {
        out.error = true;
        auto pd = error_partition(p.partition, found.error);
        if (found.error == ErrorCode::NOT_LEADER_OR_FOLLOWER || found.error == ErrorCode::FENCED_LEADER_EPOCH)
          if (const TopicImage* t = image->topic(*s.names[ti]))
            if (const PartitionImage* pi = t->partition(p.partition)) {
              pd.current_leader.leader_id = pi->leader;
              pd.current_leader.leader_epoch = pi->leader_epoch;
            }
        tr.partitions.push_back(std::move(pd));
        continue;
      }
      replica::Partition& partition = *found.partition;
      auto& log = *partition.log();
      if (follower && s.version >= 12) {
        if (auto diverging = partition.diverging_epoch(p.fetch_offset, p.last_fetched_epoch)) {
          PartitionData pd;
          pd.partition_index = p.partition;
          pd.high_watermark = log.high_watermark();
          pd.last_stable_offset = log.last_stable_offset();
          pd.log_start_offset = log.log_start_offset();
          pd.diverging_epoch.epoch = diverging->first;
          pd.diverging_epoch.end_offset = diverging->second;
          pd.preferred_read_replica = -1;
          // Kafka answers it at once: the follower must truncate first.
          out.error = true;
          tr.partitions.push_back(std::move(pd));
          continue;
        }
      }
      if (from_follower_ok && partition.role() == replica::Role::kLeader) {
        const int32_t preferred = preferred_read_replica(s, *image, partition, p.fetch_offset);
        if (preferred >= 0) {
          // Kafka's answer: no records, the consumer goes to that replica.
          PartitionData pd;
          pd.partition_index = p.partition;
          pd.high_watermark = log.high_watermark();
          pd.last_stable_offset = log.last_stable_offset();
          pd.log_start_offset = log.log_start_offset();
          pd.preferred_read_replica = preferred;
          out.redirected = true;
          tr.partitions.push_back(std::move(pd));
          continue;
        }
      }
      size_t limit = static_cast<size_t>(std::min<int64_t>(std::max<int32_t>(p.partition_max_bytes, 0), budget));
      // leader.replication.throttled.rate: a throttled replica outside the
      // ISR gets nothing while the quota is used up (its position still counts).
      replica::ReplicationQuotas* quotas = s.services->replication_quotas;
      bool throttled = false;
      if (follower && quotas != nullptr) {
        const auto isr = partition.isr();
        const bool in_sync = std::find(isr.begin(), isr.end(), s.replica_id) != isr.end();
        throttled = quotas->leader_throttled(*image, *s.names[ti], p.partition, in_sync);
      }
      const bool hold = throttled && quotas->leader().exceeded();
      if (hold) limit = 0;
      // A follower reads everything the leader has; a consumer what the ISR
      // has, and a read_committed one only what no open transaction holds
      // back (the last stable offset).
      const int64_t leader_end = log.log_end_offset();
      const int64_t upper = follower ? leader_end : committed ? log.last_stable_offset() : log.high_watermark();
      auto read = log.read(p.fetch_offset, limit, min_one && !hold, upper);
      if (!read) {
        out.error = true;
        tr.partitions.push_back(error_partition(p.partition, kafka_error(read.error().code)));
        continue;
      }
      const auto& r = *read;
      if (throttled) quotas->leader().record(static_cast<int64_t>(r.size));
      if (follower && partition.update_follower_fetch_state(s.replica_id, s.replica_epoch, p.fetch_offset,
                                                            p.log_start_offset, leader_end))
        out.moved.emplace_back(*s.names[ti], p.partition);
      PartitionData pd;
      pd.partition_index = p.partition;
      // Read after the follower's position was recorded: the high
      // watermark this very fetch may have moved goes back to it.
      pd.high_watermark = follower ? log.high_watermark() : r.high_watermark;
      pd.last_stable_offset = follower ? log.last_stable_offset() : r.last_stable_offset;
      pd.log_start_offset = r.log_start_offset;
      pd.preferred_read_replica = -1;
      if (!committed) {
        pd.aborted_transactions = std::nullopt;
      } else if (r.size > 0) {
        // The aborted transactions the consumer must drop from what it reads
        // (Kafka's UnifiedLog.collectAbortedTransactions up to the bound).
        for (const auto& t : log.collect_aborted_transactions(p.fetch_offset, upper)) {
          auto& a = pd.aborted_transactions->emplace_back();
          a.producer_id = t.producer_id;
          a.first_offset = t.first_offset;
        }
      }
      if (r.size > 0) {
        pd.records = protocol::Records::from_file(
            util::FileRange{r.file->fd(), std::shared_ptr<const void>(r.file), r.position, r.size});
        out.bytes += r.size;
        budget = std::max<int64_t>(0, budget - static_cast<int64_t>(r.size));
        min_one = false;
      }
      tr.partitions.push_back(std::move(pd));
    }
  }
  return out;
}

void notify_moved(const FetchState& s, const std::vector<FetchWaiters::Key>& moved) {
  for (const auto& [topic, partition] : moved) fetch_waiters(s.services).notify(topic, partition);
}

// Session bookkeeping on the final response, then the reply.
void finish(FetchState& s, FetchResponse response) {
  std::vector<std::string> names;
  for (const auto& n : s.names) names.push_back(n.value_or(""));
  if (s.session) {
    std::lock_guard lock(s.session->mu);
    s.session->filter(response, names);
    response.session_id = s.session->id;
  } else if (s.create_session) {
    if (auto session = fetch_session_cache(s.services).create()) {
      std::lock_guard lock(session->mu);
      for (size_t ti = 0; ti < s.request.topics.size(); ++ti)
        for (const auto& p : s.request.topics[ti].partitions)
          session->upsert(FetchSession::Part{names[ti], s.request.topics[ti].topic_id, p});
      session->remember(response, names);
      session->epoch = 1;
      response.session_id = session->id;
    }
  }
  std::set<int32_t> leaders;  // KIP-951
  for (const auto& t : response.responses)
    for (const auto& p : t.partitions)
      if (names_new_leader(p.error_code, p.current_leader.leader_id)) leaders.insert(p.current_leader.leader_id);
  if (!leaders.empty()) add_leader_endpoints(*s.services->metadata.current(), s.listener, leaders, response);
  s.responder.send(response);
}

class DelayedFetch : public std::enable_shared_from_this<DelayedFetch> {
 public:
  explicit DelayedFetch(std::shared_ptr<FetchState> state) : state_(std::move(state)) {}

  void park() {
    std::vector<FetchWaiters::Key> keys;
    for (size_t ti = 0; ti < state_->request.topics.size(); ++ti)
      if (state_->names[ti])
        for (const auto& p : state_->request.topics[ti].partitions) keys.emplace_back(*state_->names[ti], p.partition);
    auto self = shared_from_this();
    auto& waiters = fetch_waiters(state_->services);
    waiter_id_ = waiters.add(keys, std::make_shared<const std::function<void()>>([self] { self->try_complete(false); }));
    const std::chrono::milliseconds wait(state_->request.max_wait_ms);
    if (boost::asio::io_context* reactor = net::IoContextPool::current()) {
      // max_wait_ms on the fetch's own reactor: arming and cancelling it
      // wake no other thread (the shared scheduler's cost a hand-off each).
      reactor_ = reactor;
      timer_ = std::make_shared<boost::asio::steady_timer>(*reactor, wait);
      timer_->async_wait([self](const boost::system::error_code& ec) {
        if (!ec) self->try_complete(true);
      });
    } else {
      timer_id_ = state_->services->scheduler->schedule(wait, [self] { self->try_complete(true); });
    }
    registered_.store(true, std::memory_order_release);
    if (done_.load(std::memory_order_acquire)) unregister();
    // A produce between the first read and add() would have been missed.
    try_complete(false);
  }

 private:
  void try_complete(bool expired) {
    if (done_.load(std::memory_order_acquire)) return;
    ReadResult result = read_all(*state_);
    if (!expired && !result.error && !result.redirected && result.bytes < static_cast<size_t>(std::max(state_->request.min_bytes, 0)))
      return notify_moved(*state_, result.moved);
    if (done_.exchange(true, std::memory_order_acq_rel)) return notify_moved(*state_, result.moved);
    if (registered_.load(std::memory_order_acquire)) unregister();
    finish(*state_, std::move(result.response));
    notify_moved(*state_, result.moved);
  }

  void unregister() {
    fetch_waiters(state_->services).remove(waiter_id_);
    if (!timer_) return state_->services->scheduler->cancel(timer_id_);
    // A steady_timer is not thread-safe: cancel it on its reactor (the
    // reply goes there too, so the hand-off rides on the same wake-up).
    if (net::IoContextPool::current() == reactor_) {
      timer_->cancel();
      return;
    }
    boost::asio::post(*reactor_, [timer = timer_] { timer->cancel(); });
  }

  std::shared_ptr<FetchState> state_;
  std::atomic<bool> done_{false};
  std::atomic<bool> registered_{false};
  uint64_t waiter_id_ = 0;
  uint64_t timer_id_ = 0;                            // on the shared scheduler, when not on a reactor
  boost::asio::io_context* reactor_ = nullptr;       // else: timer_ runs there
  std::shared_ptr<boost::asio::steady_timer> timer_;
};

}  // namespace

void handle_fetch(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto state = std::make_shared<FetchState>(FetchState{ctx.services, ctx.api_version, {}, {}, responder, nullptr, false});
  state->request = decode_request<FetchRequest>(body, ctx.api_version);
  if (ctx.connection != nullptr) state->listener = ctx.connection->listener_name;
  const auto& req = state->request;
  constexpr int16_t kFirstReplicaStateVersion = 15;
  if (ctx.api_version >= kFirstReplicaStateVersion) {
    state->replica_id = req.replica_state.replica_id;
    state->replica_epoch = req.replica_state.replica_epoch;
  } else {
    state->replica_id = req.replica_id;
  }

  auto image = ctx.services->metadata.current();
  const bool by_id = ctx.api_version >= kFirstTopicIdVersion;
  auto resolve = [&](const std::string& name, const protocol::Uuid& id) -> std::optional<std::string> {
    if (!by_id) return name;
    const TopicImage* ti = image->topic(id);
    return ti ? std::optional<std::string>(ti->name) : std::nullopt;
  };
  auto& cache = fetch_session_cache(ctx.services);
  auto session_error = [&](ErrorCode e) {
    FetchResponse response;
    response.error_code = protocol::code(e);
    response.session_id = 0;
    responder.send(response);
  };
  if (req.session_epoch == -1 || req.session_epoch == 0) {  // full fetch
    if (req.session_id != 0) cache.remove(req.session_id);
    state->create_session = req.session_epoch == 0;
    for (const auto& t : req.topics) state->names.push_back(resolve(t.topic, t.topic_id));
  } else {  // incremental: update the session, then fetch all its partitions
    auto session = cache.get(req.session_id);
    if (!session) return session_error(ErrorCode::FETCH_SESSION_ID_NOT_FOUND);
    std::lock_guard lock(session->mu);
    if (req.session_epoch != session->epoch) return session_error(ErrorCode::INVALID_FETCH_SESSION_EPOCH);
    for (const auto& t : req.topics) {
      std::string name = resolve(t.topic, t.topic_id).value_or("");
      for (const auto& p : t.partitions) session->upsert(FetchSession::Part{name, t.topic_id, p});
    }
    for (const auto& f : req.forgotten_topics_data)
      for (int32_t p : f.partitions)
        std::erase_if(session->parts, [&](const FetchSession::Part& part) {
          return part.request.partition == p && (by_id ? part.topic_id == f.topic_id : part.topic == f.topic);
        });
    session->epoch = next_fetch_epoch(session->epoch);
    state->request.topics.clear();
    for (auto& part : session->parts) {
      // A topic id unknown when the partition joined the session (the image
      // had not caught up yet) is looked up again: the fetcher will not
      // resend an unchanged partition just because it got an error.
      if (part.topic.empty() && by_id) part.topic = resolve(part.topic, part.topic_id).value_or("");
      if (state->request.topics.empty() || state->request.topics.back().topic != part.topic ||
          state->request.topics.back().topic_id != part.topic_id) {
        auto& t = state->request.topics.emplace_back();
        t.topic = part.topic;
        t.topic_id = part.topic_id;
        state->names.push_back(part.topic.empty() ? std::nullopt : std::optional<std::string>(part.topic));
      }
      state->request.topics.back().partitions.push_back(part.request);
    }
    state->session = std::move(session);
  }

  ReadResult result = read_all(*state);
  bool parked = req.max_wait_ms > 0 && !result.error && !result.redirected && result.readable > 0 &&
                result.bytes < static_cast<size_t>(std::max(req.min_bytes, 0)) && ctx.services->scheduler;
  auto moved = std::move(result.moved);
  if (!parked) {
    finish(*state, std::move(result.response));
  } else {
    auto copy = state;
    std::make_shared<DelayedFetch>(std::move(copy))->park();
  }
  notify_moved(*state, moved);
}

}  // namespace samsa::broker
