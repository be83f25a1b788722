// The fetch loop of one replica fetcher thread (replica_fetcher_thread.h).
// Kafka's AbstractFetcherThread is the model: build one Fetch for every
// partition that is not backing off, send it to the leader, and per
// partition append, truncate on a diverging epoch, or handle the error.
#include "replica_fetcher_thread.h"

#include <algorithm>
#include <chrono>

#include "samsa/broker/replica/partition.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/api_keys.h"
#include "samsa/protocol/gen/fetch_request.h"
#include "samsa/protocol/gen/list_offsets_request.h"
#include "samsa/protocol/gen/list_offsets_response.h"
#include "samsa/protocol/record_batch.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"
#include "samsa/util/logging.h"

namespace samsa::broker::replica {
namespace {

using protocol::ErrorCode;
using protocol::FetchRequest;
using protocol::FetchResponse;

// Fetch v17: topic ids (v13), ReplicaState with the broker epoch (v15,
// KIP-903), LastFetchedEpoch and DivergingEpoch (v12).
constexpr int16_t kFetchVersion = 17;
constexpr int16_t kListOffsetsVersion = 8;
constexpr int64_t kLatestTimestamp = -1;
constexpr int64_t kEarliestTimestamp = -2;
// How soon a throttled partition (follower.replication.throttled.rate) is
// looked at again.
constexpr int64_t kThrottleRecheckMs = 100;

auto fetcher_logger() { return samsa::logger("samsa.server.ReplicaFetcherThread"); }

std::string tp_name(const std::string& topic, int32_t partition) { return topic + "-" + std::to_string(partition); }

// Decodes a response body, keeping it alive for the Records that borrow it.
template <typename Response>
std::optional<Response> decode_body(std::optional<std::vector<uint8_t>> body, int16_t version) {
  if (!body) return std::nullopt;
  auto owned = std::make_shared<std::vector<uint8_t>>(std::move(*body));
  try {
    protocol::WireReader r(*owned, owned);
    Response response;
    response.decode(r, version);
    return response;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Sends one request and waits for its answer; the client fails it
// (nullopt) on timeout, a lost connection or close().
template <typename Response, typename Request>
std::optional<Response> call_and_wait(net::KafkaClient& client, const net::Endpoint& to, int16_t version,
                                      const Request& request) {
  struct Pending {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::optional<std::vector<uint8_t>> body;
  };
  auto pending = std::make_shared<Pending>();
  protocol::WireWriter w;
  request.encode(w, version);
  client.send(to, Request::kApiKey, version, w.take(), [pending](std::optional<std::vector<uint8_t>> body) {
    std::lock_guard lock(pending->m);
    pending->body = std::move(body);
    pending->done = true;
    pending->cv.notify_all();
  });
  std::unique_lock lock(pending->m);
  pending->cv.wait(lock, [&] { return pending->done; });
  return decode_body<Response>(std::move(pending->body), version);
}

}  // namespace

int64_t follower_truncation_offset(int32_t leader_epoch, int64_t leader_end, std::pair<int32_t, int64_t> follower_end_for,
                                   int64_t follower_leo, int64_t follower_high_watermark) {
  // The leader has no epoch at or below ours: nothing known to agree on
  // beyond what was committed.
  if (leader_end < 0) return std::min(follower_high_watermark, follower_leo);
  if (leader_epoch < 0) return std::min(leader_end, follower_leo);
  int64_t cut;
  if (follower_end_for.first == leader_epoch)
    cut = std::min(leader_end, follower_end_for.second);  // the logs agree up to here
  else if (follower_end_for.first >= 0)
    cut = std::min(follower_end_for.second, leader_end);  // ours ends in a lower epoch: cut and ask again
  else
    cut = std::min(leader_end, follower_leo);
  return std::min(cut, follower_leo);
}

size_t whole_batches_prefix(std::span<const uint8_t> records) {
  constexpr size_t kLengthEnd = 12;  // base offset (8) + batch length (4)
  size_t pos = 0;
  while (records.size() - pos >= kLengthEnd) {
    const uint8_t* p = records.data() + pos + 8;
    const int32_t length = static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                                                (uint32_t{p[2]} << 8) | uint32_t{p[3]});
    if (length < 0 || records.size() - pos - kLengthEnd < static_cast<size_t>(length)) break;
    pos += kLengthEnd + static_cast<size_t>(length);
  }
  return pos;
}

ReplicaFetcherThread::ReplicaFetcherThread(int32_t leader_id, int32_t index, const ReplicaFetcherOptions& options)
    : leader_id_(leader_id),
      index_(index),
      options_(options),
      name_("ReplicaFetcherThread-" + std::to_string(index) + "-" + std::to_string(leader_id)),
      fetch_conn_(FetchConnection::Options{
          .client_id = "broker-" + std::to_string(options.broker_id) + "-fetcher-" + std::to_string(index),
          // A long-polling fetch is answered after up to max_wait: the
          // socket timeout counts on top of it.
          .connect_timeout_ms = std::min<int64_t>(options.socket_timeout_ms, 10'000),
          .request_timeout_ms = int64_t{options.socket_timeout_ms} + options.fetch_max_wait_ms}) {
  net::KafkaClientOptions o;
  o.client_id = "broker-" + std::to_string(options.broker_id) + "-fetcher-" + std::to_string(index);
  // A long-polling fetch is answered after up to max_wait: the socket
  // timeout counts on top of it.
  o.request_timeout_ms = int64_t{options.socket_timeout_ms} + options.fetch_max_wait_ms;
  o.connect_timeout_ms = std::min<int64_t>(options.socket_timeout_ms, 10'000);
  client_ = std::make_unique<net::KafkaClient>(o);
  thread_ = std::thread([this] { run(); });
}

ReplicaFetcherThread::~ReplicaFetcherThread() { shutdown(); }

void ReplicaFetcherThread::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  fetch_conn_.interrupt();  // the in-flight fetch returns nullopt at once
  client_->close();         // and so does a ListOffsets
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void ReplicaFetcherThread::add(const FollowTarget& target) {
  auto partition = options_.partition ? options_.partition(target.topic, target.partition) : nullptr;
  std::lock_guard process(process_mu_);
  {
    std::lock_guard lock(mu_);
    Key key{target.topic, target.partition};
    auto it = partitions_.find(key);
    if (it != partitions_.end() && it->second.status == Status::kFetching &&
        it->second.target.leader_id == target.leader_id && it->second.target.leader_epoch == target.leader_epoch &&
        it->second.target.topic_id == target.topic_id)
      return;  // already following this leader in this epoch
    State st;
    st.target = target;
    st.fetch_offset = partition ? partition->log_end_offset() : 0;
    st.generation = next_generation_++;
    partitions_[key] = std::move(st);
  }
  cv_.notify_all();
}

bool ReplicaFetcherThread::remove(const std::string& topic, int32_t partition) {
  std::lock_guard process(process_mu_);
  std::lock_guard lock(mu_);
  return partitions_.erase({topic, partition}) > 0;
}

size_t ReplicaFetcherThread::size() const {
  std::lock_guard lock(mu_);
  return partitions_.size();
}

int64_t ReplicaFetcherThread::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void ReplicaFetcherThread::back_off(const Key& key, uint64_t generation) {
  std::lock_guard lock(mu_);
  auto it = partitions_.find(key);
  if (it != partitions_.end() && it->second.generation == generation)
    it->second.retry_at_ms = now_ms() + options_.backoff_ms;
}

std::optional<FetchResponse> ReplicaFetcherThread::fetch(const net::Endpoint& to, const FetchRequest& request) {
  protocol::WireWriter w;
  request.encode(w, kFetchVersion);
  auto answer = fetch_conn_.call(to, FetchRequest::kApiKey, kFetchVersion, std::span<const uint8_t>(w.data(), w.size()));
  if (!answer) return std::nullopt;
  try {
    // The records borrow the frame: the reader's owner keeps it alive.
    protocol::WireReader r(answer->body(), answer->frame);
    FetchResponse response;
    response.decode(r, kFetchVersion);
    return response;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void ReplicaFetcherThread::run() {
  fetcher_logger()->info("[{}]: Starting, fetching from broker {}", name_, leader_id_);
  for (;;) {
    // 1. Which partitions to fetch, and from where.
    std::vector<Sent> sent;
    std::vector<State> states;
    {
      std::unique_lock lock(mu_);
      if (stopping_) break;
      const int64_t now = now_ms();
      int64_t wake = now + std::max(options_.backoff_ms, 1);
      for (const auto& [key, st] : partitions_) {
        if (st.status != Status::kFetching) continue;
        if (st.retry_at_ms > now) {
          wake = std::min(wake, st.retry_at_ms);
          continue;
        }
        sent.push_back({key, st.generation, st.fetch_offset});
        states.push_back(st);
      }
      if (sent.empty()) {
        cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(wake - now, 1)));
        continue;
      }
    }
    auto endpoint = options_.endpoint ? options_.endpoint(leader_id_) : std::nullopt;
    if (!endpoint) {
      for (const auto& s : sent) back_off(s.key, s.generation);
      continue;
    }
    const net::Endpoint to{endpoint->first, endpoint->second};

    FetchRequest req;
    req.replica_id = options_.broker_id;
    req.replica_state.replica_id = options_.broker_id;
    req.replica_state.replica_epoch = options_.broker_epoch ? options_.broker_epoch() : -1;
    req.max_wait_ms = options_.fetch_max_wait_ms;
    req.min_bytes = options_.fetch_min_bytes;
    req.max_bytes = options_.fetch_max_bytes;
    req.isolation_level = 0;
    req.rack_id = options_.rack.value_or("");
    std::vector<Sent> included;
    std::vector<FollowerFetchSession::PartitionFetch> wanted;
    for (size_t i = 0; i < sent.size(); ++i) {
      const State& st = states[i];
      auto part = options_.partition ? options_.partition(st.target.topic, st.target.partition) : nullptr;
      if (!part) continue;  // removed: the manager drops it
      int32_t max_bytes = options_.partition_max_bytes;
      if (options_.throttle_allowance) {
        const int64_t allowance = options_.throttle_allowance(st.target.topic, st.target.partition);
        if (allowance <= 0) {
          std::lock_guard lock(mu_);
          auto it = partitions_.find(sent[i].key);
          if (it != partitions_.end() && it->second.generation == sent[i].generation)
            it->second.retry_at_ms = now_ms() + kThrottleRecheckMs;
          continue;
        }
        max_bytes = static_cast<int32_t>(std::min<int64_t>(max_bytes, allowance));
      }
      auto& w = wanted.emplace_back();
      w.topic = st.target.topic;
      w.topic_id = st.target.topic_id;
      auto& p = w.fields;
      p.partition = st.target.partition;
      p.current_leader_epoch = st.target.leader_epoch;
      p.fetch_offset = st.fetch_offset;
      p.last_fetched_epoch = part->latest_epoch().value_or(-1);
      p.log_start_offset = part->log_start_offset();
      p.partition_max_bytes = max_bytes;
      included.push_back(sent[i]);
    }
    if (included.empty()) continue;
    // Partitions of one topic together, as the session and the leader group them.
    std::stable_sort(wanted.begin(), wanted.end(),
                     [](const auto& a, const auto& b) { return a.topic_id.bytes < b.topic_id.bytes; });
    session_.build(wanted, req);

    // 2. The fetch (long-polls up to max_wait_ms at the leader).
    auto response = fetch(to, req);
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    if (!response) {
      session_.on_failure();
    } else if (!session_.on_response(*response)) {
      // The leader lost our session (restart, eviction) or we are at
      // another epoch: a full fetch opens a new one at once.
      fetcher_logger()->debug("[{}]: Fetch session {} with broker {} ended: {}; opening a new one", name_,
                              req.session_id, leader_id_,
                              protocol::error_name(static_cast<ErrorCode>(response->error_code)));
      continue;
    }
    if (!response || response->error_code != 0) {
      if (response)
        fetcher_logger()->warn("[{}]: Error in fetch from broker {}: {}", name_, leader_id_,
                               protocol::error_name(static_cast<ErrorCode>(response->error_code)));
      else
        fetcher_logger()->info("[{}]: Fetch from broker {} at {}:{} failed; retrying in {} ms", name_, leader_id_,
                               to.host, to.port, options_.backoff_ms);
      for (const auto& s : included) back_off(s.key, s.generation);
      continue;
    }

    // 3. Per partition, under the processing lock.
    std::vector<Sent> out_of_range;
    {
      std::lock_guard process(process_mu_);
      for (const auto& tr : response->responses) {
        for (const auto& pd : tr.partitions) {
          const Sent* s = nullptr;
          State st;
          {
            std::lock_guard lock(mu_);
            for (const auto& cand : included) {
              auto it = partitions_.find(cand.key);
              if (cand.key.second == pd.partition_index && it != partitions_.end() &&
                  it->second.target.topic_id == tr.topic_id && it->second.generation == cand.generation) {
                s = &cand;
                st = it->second;
              }
            }
          }
          if (!s) continue;  // re-targeted or removed while the fetch was out
          Outcome o = process_partition(st, pd);
          std::lock_guard lock(mu_);
          auto it = partitions_.find(s->key);
          if (it == partitions_.end()) continue;
          switch (o.kind) {
            case Outcome::kContinue:
              it->second.fetch_offset = o.next_offset;
              it->second.retry_at_ms = 0;
              break;
            case Outcome::kBackoff:
              if (o.next_offset >= 0) it->second.fetch_offset = o.next_offset;
              it->second.retry_at_ms = now_ms() + options_.backoff_ms;
              break;
            case Outcome::kFenced:
              it->second.status = Status::kFenced;
              break;
            case Outcome::kOutOfRange:
              out_of_range.push_back(*s);
              break;
            case Outcome::kGone:
              partitions_.erase(it);
              break;
          }
        }
      }
    }
    for (const auto& s : out_of_range) {
      auto next = resolve_out_of_range(to, s);
      std::lock_guard lock(mu_);
      auto it = partitions_.find(s.key);
      if (it == partitions_.end() || it->second.generation != s.generation) continue;
      if (next) it->second.fetch_offset = *next;
      // A resolved range error refetches at once; an unresolved one waits.
      it->second.retry_at_ms = next ? 0 : now_ms() + options_.backoff_ms;
    }
  }
  fetcher_logger()->info("[{}]: Stopped", name_);
}

ReplicaFetcherThread::Outcome ReplicaFetcherThread::process_partition(
    const State& st, const FetchResponse::FetchableTopicResponse::PartitionData& pd) {
  const auto& t = st.target;
  auto part = options_.partition ? options_.partition(t.topic, t.partition) : nullptr;
  if (!part) return {Outcome::kGone};
  const auto error = static_cast<ErrorCode>(pd.error_code);
  switch (error) {
    case ErrorCode::NONE:
      break;
    case ErrorCode::OFFSET_OUT_OF_RANGE:
      return {Outcome::kOutOfRange};
    case ErrorCode::FENCED_LEADER_EPOCH:
      // Our epoch is older than the leader's: the metadata image will bring
      // the new target (add() again); until then this partition waits.
      fetcher_logger()->info("[{}]: Partition {} has an older epoch ({}) than the current leader; waiting for the "
                             "new leader's metadata", name_, tp_name(t.topic, t.partition), t.leader_epoch);
      return {Outcome::kFenced};
    default:
      // UNKNOWN_LEADER_EPOCH (the leader has not seen our epoch yet),
      // NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_ID, KAFKA_STORAGE_ERROR...:
      // transient from here; retried after replica.fetch.backoff.ms.
      fetcher_logger()->info("[{}]: Error fetching {} from broker {}: {}; retrying", name_,
                             tp_name(t.topic, t.partition), leader_id_, protocol::error_name(error));
      return {Outcome::kBackoff};
  }

  if (pd.diverging_epoch.epoch >= 0 || pd.diverging_epoch.end_offset >= 0) {
    const int64_t leo = part->log_end_offset();
    const int64_t cut = follower_truncation_offset(pd.diverging_epoch.epoch, pd.diverging_epoch.end_offset,
                                                   part->end_offset_for_epoch(pd.diverging_epoch.epoch), leo,
                                                   part->high_watermark());
    fetcher_logger()->info("[{}]: Truncating partition {} from {} to offset {} due to diverging epoch (epoch {}, "
                           "end offset {})", name_, tp_name(t.topic, t.partition), leo, cut,
                           pd.diverging_epoch.epoch, pd.diverging_epoch.end_offset);
    auto r = part->truncate_to(cut);
    if (!r) {
      fetcher_logger()->warn("[{}]: Truncating {} failed: {}", name_, tp_name(t.topic, t.partition), r.error().message);
      return {Outcome::kBackoff};
    }
    return {Outcome::kContinue, part->log_end_offset()};
  }

  std::span<const uint8_t> records = pd.records.bytes();
  records = records.first(whole_batches_prefix(records));
  if (!records.empty()) {
    // Batches wholly below our log end (the leader returns the batch that
    // holds the fetch offset) are skipped; one that straddles it means the
    // leader's batching differs from ours there: its copy replaces ours.
    const int64_t leo = part->log_end_offset();
    size_t skip = 0;
    while (skip + protocol::RecordBatchHeader::kSize <= records.size()) {
      auto h = protocol::RecordBatchHeader::parse(records.subspan(skip, protocol::RecordBatchHeader::kSize));
      if (h.last_offset() >= leo) {
        if (h.base_offset < leo) {
          auto r = part->truncate_to(h.base_offset);
          if (!r) return {Outcome::kBackoff};
        }
        break;
      }
      skip += h.size_in_bytes();
    }
    if (skip < records.size()) {
      auto appended = part->append_as_follower(records.subspan(skip));
      if (!appended) {
        fetcher_logger()->error("[{}]: Appending to {} at offset {} failed: {}", name_, tp_name(t.topic, t.partition),
                                part->log_end_offset(), appended.error().message);
        return {Outcome::kBackoff, part->log_end_offset()};
      }
      if (options_.throttle_record)
        options_.throttle_record(t.topic, t.partition, static_cast<int64_t>(records.size() - skip));
    }
  }
  part->update_from_leader(pd.high_watermark, pd.log_start_offset);
  return {Outcome::kContinue, part->log_end_offset()};
}

std::optional<int64_t> ReplicaFetcherThread::list_offset(const net::Endpoint& to, const FollowTarget& t,
                                                         int64_t timestamp) {
  protocol::ListOffsetsRequest req;
  req.replica_id = options_.broker_id;  // a replica: LATEST is the leader's log end, not its high watermark
  auto& topic = req.topics.emplace_back();
  topic.name = t.topic;
  auto& p = topic.partitions.emplace_back();
  p.partition_index = t.partition;
  p.current_leader_epoch = t.leader_epoch;
  p.timestamp = timestamp;
  auto resp = call_and_wait<protocol::ListOffsetsResponse>(*client_, to, kListOffsetsVersion, req);
  if (!resp) return std::nullopt;
  for (const auto& tr : resp->topics)
    for (const auto& pr : tr.partitions)
      if (tr.name == t.topic && pr.partition_index == t.partition && pr.error_code == 0 && pr.offset >= 0)
        return pr.offset;
  return std::nullopt;
}

std::optional<int64_t> ReplicaFetcherThread::resolve_out_of_range(const net::Endpoint& to, const Sent& sent) {
  FollowTarget target;
  {
    std::lock_guard lock(mu_);
    auto it = partitions_.find(sent.key);
    if (it == partitions_.end() || it->second.generation != sent.generation) return std::nullopt;
    target = it->second.target;
  }
  const std::string name = tp_name(target.topic, target.partition);
  auto still_ours = [&] {
    std::lock_guard lock(mu_);
    auto it = partitions_.find(sent.key);
    return it != partitions_.end() && it->second.generation == sent.generation;
  };
  auto leader_end = list_offset(to, target, kLatestTimestamp);
  if (!leader_end) return std::nullopt;
  {
    std::lock_guard process(process_mu_);
    auto part = options_.partition ? options_.partition(target.topic, target.partition) : nullptr;
    if (!part || !still_ours()) return std::nullopt;
    const int64_t leo = part->log_end_offset();
    if (*leader_end < leo) {
      // The leader has less than we do (it was elected without our tail):
      // ours goes, as Kafka's follower does.
      fetcher_logger()->warn("[{}]: Truncating {} from {} to the leader's log end {} (offset out of range)", name_,
                             name, leo, *leader_end);
      auto r = part->truncate_to(*leader_end);
      if (!r) return std::nullopt;
      return part->log_end_offset();
    }
  }
  auto leader_start = list_offset(to, target, kEarliestTimestamp);
  if (!leader_start) return std::nullopt;
  std::lock_guard process(process_mu_);
  auto part = options_.partition ? options_.partition(target.topic, target.partition) : nullptr;
  if (!part || !still_ours()) return std::nullopt;
  const int64_t leo = part->log_end_offset();
  if (*leader_start > leo) {
    fetcher_logger()->info("[{}]: Our log end {} of {} is below the leader's log start {}: starting the log again "
                           "there", name_, leo, name, *leader_start);
    auto r = part->truncate_fully_and_start_at(*leader_start);
    if (!r) return std::nullopt;
    return *leader_start;
  }
  // Within the leader's range after all (its log moved meanwhile): retry
  // from our end after the back-off.
  return std::nullopt;
}

}  // namespace samsa::broker::replica
