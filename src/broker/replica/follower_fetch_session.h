#pragma once
// The client side of an incremental fetch session (KIP-227) for one replica
// fetcher thread, Kafka's FetchSessionHandler: the first fetch is full and
// opens a session at the leader; later ones list only the partitions whose
// fetch state changed (offset, log start, epochs, max bytes) and the ones
// no longer fetched (forgotten), and the leader answers only partitions
// with news. With thousands of followed partitions and nothing new, a
// fetch is a few bytes each way instead of one entry per partition.
//
// Any failure (session unknown or at another epoch at the leader, a lost
// connection, a request that got no answer) drops the session: the next
// fetch is full again and opens a new one.
//
// Not thread-safe: owned by the fetch loop of one thread.
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "samsa/protocol/gen/fetch_request.h"
#include "samsa/protocol/gen/fetch_response.h"
#include "samsa/protocol/uuid.h"

namespace samsa::broker::replica {

class FollowerFetchSession {
 public:
  // What one partition's entry of a fetch asks for.
  struct PartitionFetch {
    std::string topic;
    protocol::Uuid topic_id;
    protocol::FetchRequest::FetchTopic::FetchPartition fields;
  };

  // Fills the session id and epoch, topics and forgotten topics of
  // `request` for the partitions wanted now (in this order): all of them in
  // a full fetch, only the changed ones in an incremental fetch.
  void build(const std::vector<PartitionFetch>& wanted, protocol::FetchRequest& request);
  // The leader's answer to the request last built: the session moves on.
  // Returns false (and drops the session) when the answer is a session
  // error; its partitions then carry nothing to apply.
  bool on_response(const protocol::FetchResponse& response);
  // The request last built got no answer.
  void on_failure() { reset(); }
  void reset();

  int32_t session_id() const { return session_id_; }
  int32_t epoch() const { return epoch_; }
  bool incremental() const { return session_id_ != 0 && epoch_ > 0; }

 private:
  using Key = std::pair<std::array<uint8_t, 16>, int32_t>;  // (topic id, partition)
  int32_t session_id_ = 0;
  int32_t epoch_ = 0;  // the epoch the next request carries; 0: a full fetch opening a session
  bool in_flight_full_ = false;
  std::map<Key, PartitionFetch> sent_;     // what the leader's session holds
  std::map<Key, PartitionFetch> pending_;  // what it holds once the request in flight is answered
};

}  // namespace samsa::broker::replica
