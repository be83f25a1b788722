#pragma once
// Incremental fetch sessions (KIP-227), after Kafka's FetchSession /
// FetchSessionCache: a session remembers the partitions of a consumer's
// fetches and what was last sent for each, so later (incremental) requests
// list only changed partitions and responses carry only partitions with
// news (records, a changed high watermark / last stable offset / log start
// offset, or an error).
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "samsa/protocol/gen/fetch_request.h"
#include "samsa/protocol/gen/fetch_response.h"

namespace samsa::broker {

struct BrokerServices;

struct FetchSession {
  struct Part {
    std::string topic;  // resolved name
    protocol::Uuid topic_id;
    protocol::FetchRequest::FetchTopic::FetchPartition request;
    int64_t high_watermark = -2;  // last sent; -2: never sent
    int64_t last_stable_offset = -2;
    int64_t log_start_offset = -2;
  };
  using Key = std::pair<std::string, int32_t>;

  int32_t id = 0;
  std::chrono::steady_clock::time_point last_used;  // guarded by the cache's mutex

  std::mutex mu;  // guards everything below
  int32_t epoch = 1;  // the epoch the next incremental request must carry
  std::vector<Part> parts;  // fetch order

  Part* find(const Key& k);
  void upsert(Part part);
  void forget(const Key& k);
  // Keeps the partitions of `response` that have news, updating what was
  // last sent; `names` maps each response topic index to its resolved name.
  void filter(protocol::FetchResponse& response, const std::vector<std::string>& names);
  // Records what a full response sent (the session's first response).
  void remember(const protocol::FetchResponse& response, const std::vector<std::string>& names);
};

inline int32_t next_fetch_epoch(int32_t epoch) { return epoch == INT32_MAX ? 1 : epoch + 1; }

class FetchSessionCache {
 public:
  explicit FetchSessionCache(size_t slots = 1000) : slots_(slots) {}

  // A new session (id != 0), or nullptr when every slot is taken by a
  // session used within the last two minutes (Kafka's eviction floor).
  std::shared_ptr<FetchSession> create();
  std::shared_ptr<FetchSession> get(int32_t id);
  void remove(int32_t id);
  size_t size() const;

 private:
  const size_t slots_;
  mutable std::mutex mu_;
  std::map<int32_t, std::shared_ptr<FetchSession>> sessions_;
  uint64_t seed_ = 0x9E3779B97F4A7C15ULL;
};

// One cache per broker (per BrokerServices instance), created on first use.
// Slots: Kafka's max.incremental.fetch.session.cache.slots default, 1000.
FetchSessionCache& fetch_session_cache(const BrokerServices* services);

}  // namespace samsa::broker
