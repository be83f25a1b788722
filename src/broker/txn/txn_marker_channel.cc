// TransactionMarkerChannel: jobs are split into per-destination work, queued
// per leader, sent by one thread (one request in flight per destination),
// and answered on the client's I/O thread. All state is under one mutex;
// `done` callbacks are collected and run after it is released.
#include "samsa/broker/txn/txn_marker_channel.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "inter_broker_endpoint.h"
#include "samsa/net/kafka_client.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/write_txn_markers_request.h"
#include "samsa/protocol/gen/write_txn_markers_response.h"
#include "samsa/util/logging.h"

namespace samsa::broker::txn {

using protocol::ErrorCode;
using protocol::WriteTxnMarkersRequest;
using protocol::WriteTxnMarkersResponse;

namespace {

using Clock = std::chrono::steady_clock;
using TopicPartition = std::pair<std::string, int32_t>;
constexpr int16_t kWriteTxnMarkersVersion = 1;

auto channel_logger() { return samsa::logger("samsa.coordinator.transaction.TransactionMarkerChannelManager"); }

enum class Verdict { kWritten, kFenced, kRetry };

// What one partition's answer means for the job (Kafka's
// TransactionMarkerRequestCompletionHandler).
Verdict verdict(ErrorCode e) {
  switch (e) {
    case ErrorCode::NONE:
    case ErrorCode::UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case ErrorCode::UNSUPPORTED_VERSION:
      return Verdict::kWritten;
    case ErrorCode::INVALID_PRODUCER_EPOCH:
    case ErrorCode::TRANSACTION_COORDINATOR_FENCED:
      return Verdict::kFenced;
    default:
      return Verdict::kRetry;
  }
}

bool expected_retry(ErrorCode e) {
  switch (e) {
    case ErrorCode::NOT_LEADER_OR_FOLLOWER:
    case ErrorCode::UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode::NOT_ENOUGH_REPLICAS:
    case ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode::REQUEST_TIMED_OUT:
    case ErrorCode::KAFKA_STORAGE_ERROR:
    case ErrorCode::FENCED_LEADER_EPOCH:
    case ErrorCode::NETWORK_EXCEPTION:
      return true;
    default:
      return false;
  }
}

}  // namespace

struct TransactionMarkerChannel::Impl {
  struct Job {
    TxnMarkerJob job;
    std::set<TopicPartition> remaining;
    std::function<void(TxnMarkerOutcome)> done;
    bool warned = false;  // an unexpected error was logged (once per job)
  };
  // Partitions of one job bound for one destination (or waiting to be routed).
  struct Work {
    uint64_t job_id = 0;
    std::vector<TopicPartition> partitions;
  };
  struct Destination {
    std::vector<Work> queued;
    bool in_flight = false;
    bool unreachable = false;  // its last request got no answer (logged once)
  };
  struct Retry {
    Clock::time_point at;
    Work work;
  };
  using Finished = std::vector<std::pair<std::function<void(TxnMarkerOutcome)>, TxnMarkerOutcome>>;

  Impl(ImageFn image_fn, TxnMarkerChannelOptions o)
      : image(std::move(image_fn)), options(std::move(o)), client(client_options(options)) {
    thread = std::thread([this] { run(); });
  }

  static net::KafkaClientOptions client_options(const TxnMarkerChannelOptions& o) {
    net::KafkaClientOptions c;
    c.client_id = o.client_id;
    c.request_timeout_ms = o.request_timeout_ms;
    c.connect_timeout_ms = o.connect_timeout_ms;
    return c;
  }

  const ImageFn image;
  const TxnMarkerChannelOptions options;

  mutable std::mutex mu;
  std::condition_variable cv;
  bool closing = false;
  uint64_t next_job_id = 1;
  std::map<uint64_t, Job> jobs;
  std::map<int32_t, Destination> destinations;
  std::vector<Retry> retries;  // also where new work waits for the thread (at = now)
  std::thread thread;
  // Last member: destroyed (its I/O thread joined) before the state its
  // callbacks touch.
  net::KafkaClient client;

  static void run_finished(Finished& finished) {
    for (auto& [done, outcome] : finished) done(outcome);
    finished.clear();
  }

  // REQUIRES: mu. Ends the job (it must exist).
  void finish_locked(std::map<uint64_t, Job>::iterator it, TxnMarkerOutcome outcome, Finished& finished) {
    finished.emplace_back(std::move(it->second.done), outcome);
    jobs.erase(it);
  }

  void maybe_complete_locked(std::map<uint64_t, Job>::iterator it, Finished& finished) {
    if (!it->second.remaining.empty()) return;
    channel_logger()->debug("Completed {} markers of transactional id {} (producer {} epoch {})",
                            it->second.job.commit ? "COMMIT" : "ABORT", it->second.job.transactional_id,
                            it->second.job.producer_id, it->second.job.producer_epoch);
    finish_locked(it, TxnMarkerOutcome::kWritten, finished);
  }

  void queue_locked(int32_t broker, Work work) {
    auto& queued = destinations[broker].queued;
    for (auto& w : queued)
      if (w.job_id == work.job_id) {
        w.partitions.insert(w.partitions.end(), work.partitions.begin(), work.partitions.end());
        return;
      }
    queued.push_back(std::move(work));
  }

  // REQUIRES: mu. Sends each partition of `work` towards its leader's
  // queue; partitions of deleted topics are done, partitions without a
  // reachable leader wait for a retry.
  void route_locked(const MetadataImage& img, Work work, Clock::time_point now, Finished& finished) {
    auto it = jobs.find(work.job_id);
    if (it == jobs.end()) return;
    std::map<int32_t, Work> by_leader;
    Work later{work.job_id, {}};
    for (auto& tp : work.partitions) {
      if (!it->second.remaining.contains(tp)) continue;
      if (img.offset < 0) {  // no metadata yet: nothing can be judged deleted
        later.partitions.push_back(std::move(tp));
        continue;
      }
      const TopicImage* topic = img.topic(tp.first);
      const PartitionImage* p = topic ? topic->partition(tp.second) : nullptr;
      if (p == nullptr) {
        channel_logger()->info("Dropping the marker of producer {} for {}-{}: the partition no longer exists",
                               it->second.job.producer_id, tp.first, tp.second);
        it->second.remaining.erase(tp);
        continue;
      }
      if (p->leader < 0 || !inter_broker_endpoint(img, p->leader, options.listener)) {
        later.partitions.push_back(std::move(tp));
        continue;
      }
      auto& w = by_leader[p->leader];
      w.job_id = work.job_id;
      w.partitions.push_back(std::move(tp));
    }
    for (auto& [leader, w] : by_leader) queue_locked(leader, std::move(w));
    if (!later.partitions.empty())
      retries.push_back({now + std::chrono::milliseconds(options.retry_backoff_ms), std::move(later)});
    maybe_complete_locked(it, finished);
  }

  struct Outgoing {
    int32_t broker = -1;
    net::Endpoint endpoint;
    WriteTxnMarkersRequest request;
    std::vector<Work> works;
  };

  // REQUIRES: mu. The next request to `broker` from its queue, or nullopt
  // (nothing to send, or its endpoint is unknown: the work waits).
  std::optional<Outgoing> take_request_locked(const MetadataImage& img, int32_t broker, Destination& d,
                                              Clock::time_point now) {
    auto endpoint = inter_broker_endpoint(img, broker, options.listener);
    if (!endpoint) {
      for (auto& w : d.queued) retries.push_back({now + std::chrono::milliseconds(options.retry_backoff_ms), std::move(w)});
      d.queued.clear();
      return std::nullopt;
    }
    Outgoing out;
    out.broker = broker;
    out.endpoint = *endpoint;
    std::set<int64_t> producers;
    std::vector<Work> keep;
    for (auto& w : d.queued) {
      auto it = jobs.find(w.job_id);
      if (it == jobs.end()) continue;  // abandoned
      const TxnMarkerJob& job = it->second.job;
      if (!producers.insert(job.producer_id).second) {
        keep.push_back(std::move(w));  // answers are keyed by producer id: next request
        continue;
      }
      auto& m = out.request.markers.emplace_back();
      m.producer_id = job.producer_id;
      m.producer_epoch = job.producer_epoch;
      m.transaction_result = job.commit;
      m.coordinator_epoch = job.coordinator_epoch;
      std::map<std::string, std::vector<int32_t>> topics;
      for (const auto& [topic, partition] : w.partitions) topics[topic].push_back(partition);
      for (auto& [name, indexes] : topics) {
        auto& t = m.topics.emplace_back();
        t.name = name;
        t.partition_indexes = std::move(indexes);
      }
      out.works.push_back(std::move(w));
    }
    d.queued = std::move(keep);
    if (out.works.empty()) return std::nullopt;
    d.in_flight = true;
    return out;
  }

  void run() {
    std::unique_lock lock(mu);
    while (!closing) {
      const auto now = Clock::now();
      Finished finished;
      auto img = image();
      std::vector<Work> due;
      for (auto it = retries.begin(); it != retries.end();) {
        if (it->at <= now) {
          due.push_back(std::move(it->work));
          it = retries.erase(it);
        } else {
          ++it;
        }
      }
      for (auto& w : due) route_locked(*img, std::move(w), now, finished);
      std::vector<Outgoing> out;
      for (auto& [broker, d] : destinations)
        if (!d.in_flight && !d.queued.empty())
          if (auto o = take_request_locked(*img, broker, d, now)) out.push_back(std::move(*o));
      if (!finished.empty() || !out.empty()) {
        lock.unlock();
        run_finished(finished);
        for (auto& o : out) send_request(std::move(o));
        lock.lock();
        continue;
      }
      auto wake = now + std::chrono::seconds(1);
      for (const auto& r : retries) wake = std::min(wake, r.at);
      cv.wait_until(lock, wake);
    }
  }

  void send_request(Outgoing o) {
    channel_logger()->debug("Sending {} markers to broker {} at {}:{}", o.request.markers.size(), o.broker,
                            o.endpoint.host, o.endpoint.port);
    client.call<WriteTxnMarkersResponse>(
        o.endpoint, kWriteTxnMarkersVersion, o.request,
        [this, broker = o.broker, works = std::move(o.works)](std::optional<WriteTxnMarkersResponse> response) {
          on_response(broker, works, response);
        });
  }

  static std::optional<ErrorCode> error_of(const WriteTxnMarkersResponse::WritableTxnMarkerResult& m,
                                           const TopicPartition& tp) {
    for (const auto& t : m.topics) {
      if (t.name != tp.first) continue;
      for (const auto& p : t.partitions)
        if (p.partition_index == tp.second) return static_cast<ErrorCode>(p.error_code);
    }
    return std::nullopt;
  }

  void on_response(int32_t broker, const std::vector<Work>& works,
                   const std::optional<WriteTxnMarkersResponse>& response) {
    Finished finished;
    {
      std::lock_guard lock(mu);
      Destination& d = destinations[broker];
      d.in_flight = false;
      const auto retry_at = Clock::now() + std::chrono::milliseconds(options.retry_backoff_ms);
      if (!response && !closing && !d.unreachable)
        channel_logger()->info("WriteTxnMarkers to broker {} failed (connection lost or timed out); retrying every {} ms",
                               broker, options.retry_backoff_ms);
      else if (response && d.unreachable)
        channel_logger()->info("WriteTxnMarkers to broker {} answered again", broker);
      d.unreachable = !response;
      for (const auto& w : works) {
        auto it = jobs.find(w.job_id);
        if (it == jobs.end()) continue;  // ended meanwhile (abandoned)
        const WriteTxnMarkersResponse::WritableTxnMarkerResult* result = nullptr;
        if (response)
          for (const auto& m : response->markers)
            if (m.producer_id == it->second.job.producer_id) result = &m;
        Work again{w.job_id, {}};
        bool fenced = false;
        for (const auto& tp : w.partitions) {
          ErrorCode e = ErrorCode::NETWORK_EXCEPTION;
          if (result) e = error_of(*result, tp).value_or(ErrorCode::UNKNOWN_SERVER_ERROR);
          switch (verdict(e)) {
            case Verdict::kWritten: it->second.remaining.erase(tp); break;
            case Verdict::kFenced:
              fenced = true;
              channel_logger()->info("{} marker of transactional id {} (producer {} epoch {}, coordinator epoch {}) "
                                     "on {}-{} refused with {}: abandoning its markers",
                                     it->second.job.commit ? "COMMIT" : "ABORT", it->second.job.transactional_id,
                                     it->second.job.producer_id, it->second.job.producer_epoch,
                                     it->second.job.coordinator_epoch, tp.first, tp.second, protocol::error_name(e));
              break;
            case Verdict::kRetry:
              if (result && !expected_retry(e) && !it->second.warned) {
                it->second.warned = true;
                channel_logger()->warn("Unexpected error {} writing the marker of producer {} on {}-{}; retrying",
                                       protocol::error_name(e), it->second.job.producer_id, tp.first, tp.second);
              }
              again.partitions.push_back(tp);
              break;
          }
        }
        if (fenced) {
          finish_locked(it, TxnMarkerOutcome::kAbandoned, finished);
          continue;
        }
        if (!again.partitions.empty()) retries.push_back({retry_at, std::move(again)});
        maybe_complete_locked(it, finished);
      }
    }
    cv.notify_one();
    run_finished(finished);
  }

  void send(TxnMarkerJob job, std::function<void(TxnMarkerOutcome)> done) {
    {
      std::lock_guard lock(mu);
      if (!closing) {
        const uint64_t id = next_job_id++;
        Work work{id, {}};
        Job j{std::move(job), {}, std::move(done)};
        for (const auto& tp : j.job.partitions)
          if (j.remaining.insert(tp).second) work.partitions.push_back(tp);
        jobs.emplace(id, std::move(j));
        retries.push_back({Clock::now(), std::move(work)});
        cv.notify_one();
        return;
      }
    }
    done(TxnMarkerOutcome::kAbandoned);
  }

  void abandon(int32_t txn_partition) {
    Finished finished;
    {
      std::lock_guard lock(mu);
      for (auto it = jobs.begin(); it != jobs.end();) {
        auto next = std::next(it);
        if (it->second.job.txn_partition == txn_partition) finish_locked(it, TxnMarkerOutcome::kAbandoned, finished);
        it = next;
      }
    }
    if (!finished.empty())
      channel_logger()->info("Abandoned the markers of {} transactions of {}-{}", finished.size(),
                             "__transaction_state", txn_partition);
    run_finished(finished);
  }

  void close() {
    Finished finished;
    {
      std::lock_guard lock(mu);
      if (closing) return;
      closing = true;
      for (auto it = jobs.begin(); it != jobs.end();) finish_locked(it++, TxnMarkerOutcome::kAbandoned, finished);
      cv.notify_all();
    }
    if (thread.joinable()) thread.join();
    client.close();
    run_finished(finished);
  }
};

TransactionMarkerChannel::TransactionMarkerChannel(ImageFn image, TxnMarkerChannelOptions options)
    : impl_(std::make_unique<Impl>(std::move(image), std::move(options))) {}

TransactionMarkerChannel::~TransactionMarkerChannel() { close(); }

void TransactionMarkerChannel::send(TxnMarkerJob job, std::function<void(TxnMarkerOutcome)> done) {
  impl_->send(std::move(job), std::move(done));
}

void TransactionMarkerChannel::abandon(int32_t txn_partition) { impl_->abandon(txn_partition); }

void TransactionMarkerChannel::close() { impl_->close(); }

size_t TransactionMarkerChannel::pending_jobs() const {
  std::lock_guard lock(impl_->mu);
  return impl_->jobs.size();
}

}  // namespace samsa::broker::txn
