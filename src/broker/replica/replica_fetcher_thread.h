#pragma once
// One replica fetcher (Kafka's ReplicaFetcherThread over
// AbstractFetcherThread): a thread that fetches a set of partitions from one
// leader broker with Fetch v17 and hands each answer to the follower side of
// replica::Partition. Private to replica_fetcher_manager.cc and its tests.
//
// Threads: add/remove/size/shutdown from any thread. The fetch loop runs on
// the fetcher's own thread, which also does the Fetch I/O itself
// (FetchConnection); the outbound client's I/O thread only hands it
// ListOffsets responses. Everything the loop does to a partition's log happens under
// `process_mu_`, which remove() also takes: once remove() returns, this
// fetcher no longer writes to that partition (the ReplicaManager may then
// make it a leader).
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fetch_connection.h"
#include "follower_fetch_session.h"
#include "samsa/broker/replica/replica_fetcher_manager.h"
#include "samsa/net/kafka_client.h"
#include "samsa/protocol/gen/fetch_request.h"
#include "samsa/protocol/gen/fetch_response.h"

namespace samsa::broker::replica {

// Where a follower cuts its log after the leader answered a diverging epoch
// (Kafka's AbstractFetcherThread.getOffsetTruncationState, fetch-based
// truncation): `leader_epoch`/`leader_end` are the leader's end of the
// largest epoch <= the follower's last fetched epoch; `follower_end_for` is
// the follower's own (epoch, end offset) for `leader_epoch`, (-1, -1) when it
// has none. The result never exceeds `follower_leo`. When the follower's
// entry is for a lower epoch the cut may not be final: the next fetch sends
// the new last epoch and the leader answers again.
int64_t follower_truncation_offset(int32_t leader_epoch, int64_t leader_end, std::pair<int32_t, int64_t> follower_end_for,
                                   int64_t follower_leo, int64_t follower_high_watermark);

// The longest prefix of `records` made of whole batches (a fetch answer may
// end with a partial batch when it hit max bytes).
size_t whole_batches_prefix(std::span<const uint8_t> records);

class ReplicaFetcherThread {
 public:
  ReplicaFetcherThread(int32_t leader_id, int32_t index, const ReplicaFetcherOptions& options);
  ~ReplicaFetcherThread();  // shutdown()
  ReplicaFetcherThread(const ReplicaFetcherThread&) = delete;
  ReplicaFetcherThread& operator=(const ReplicaFetcherThread&) = delete;

  // Follows `target` (replacing an earlier target for the same partition):
  // the fetch restarts at the partition's log end, unless the target is the
  // same leader and epoch already being fetched, which keeps its state.
  void add(const FollowTarget& target);
  // Returns whether it was there. Waits for a response being processed.
  bool remove(const std::string& topic, int32_t partition);
  size_t size() const;
  // Stops the thread; an in-flight fetch is abandoned (its answer dropped).
  void shutdown();

 private:
  enum class Status { kFetching, kFenced };
  struct State {
    FollowTarget target;
    int64_t fetch_offset = 0;
    Status status = Status::kFetching;
    int64_t retry_at_ms = 0;  // replica.fetch.backoff.ms after an error
    uint64_t generation = 0;  // bumped by add(): answers to older fetches are dropped
  };
  using Key = std::pair<std::string, int32_t>;
  struct Sent {
    Key key;
    uint64_t generation;
    int64_t fetch_offset;
  };
  // What handling one partition's answer decided.
  struct Outcome {
    enum Kind { kContinue, kBackoff, kFenced, kOutOfRange, kGone } kind = kContinue;
    int64_t next_offset = -1;
  };

  void run();
  // Waits for the response (or the stop); nullopt when the fetch failed.
  std::optional<protocol::FetchResponse> fetch(const net::Endpoint& to, const protocol::FetchRequest& request);
  Outcome process_partition(const State& state, const protocol::FetchResponse::FetchableTopicResponse::PartitionData& pd);
  // OFFSET_OUT_OF_RANGE (Kafka's fetchOffsetAndTruncate): asks the leader
  // for its log end and start, then truncates; the new fetch offset or nullopt.
  std::optional<int64_t> resolve_out_of_range(const net::Endpoint& to, const Sent& sent);
  std::optional<int64_t> list_offset(const net::Endpoint& to, const FollowTarget& t, int64_t timestamp);
  void back_off(const Key& key, uint64_t generation);
  static int64_t now_ms();

  const int32_t leader_id_;
  const int32_t index_;
  const ReplicaFetcherOptions options_;
  const std::string name_;
  std::unique_ptr<net::KafkaClient> client_;  // ListOffsets
  FetchConnection fetch_conn_;                // Fetch: the loop's own socket (fetch_connection.h)
  FollowerFetchSession session_;  // the fetch loop's only

  std::mutex process_mu_;  // held while an answer is applied to the logs; taken before mu_
  mutable std::mutex mu_;  // the fields below
  std::condition_variable cv_;
  std::map<Key, State> partitions_;
  uint64_t next_generation_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace samsa::broker::replica
