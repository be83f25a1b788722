#include "samsa/broker/fetch/fetch_session.h"

#include "samsa/broker/broker_services.h"

#include <algorithm>
#include <climits>

namespace samsa::broker {

FetchSession::Part* FetchSession::find(const Key& k) {
  for (auto& p : parts)
    if (p.topic == k.first && p.request.partition == k.second) return &p;
  return nullptr;
}

void FetchSession::upsert(Part part) {
  if (Part* p = find({part.topic, part.request.partition})) {
    p->request = part.request;  // new position / limits; last-sent values stay
    p->topic_id = part.topic_id;
  } else {
    parts.push_back(std::move(part));
  }
}

void FetchSession::forget(const Key& k) {
  std::erase_if(parts, [&](const Part& p) { return p.topic == k.first && p.request.partition == k.second; });
}

void FetchSession::filter(protocol::FetchResponse& response, const std::vector<std::string>& names) {
  for (size_t ti = 0; ti < response.responses.size(); ++ti) {
    auto& parts_out = response.responses[ti].partitions;
    std::erase_if(parts_out, [&](const protocol::FetchResponse::FetchableTopicResponse::PartitionData& pd) {
      Part* p = find({names[ti], pd.partition_index});
      bool news = pd.records.size() > 0 || pd.error_code != 0 || !p || p->high_watermark != pd.high_watermark ||
                  p->last_stable_offset != pd.last_stable_offset || p->log_start_offset != pd.log_start_offset;
      if (p) {
        p->high_watermark = pd.high_watermark;
        p->last_stable_offset = pd.last_stable_offset;
        p->log_start_offset = pd.log_start_offset;
      }
      return !news;
    });
  }
  std::erase_if(response.responses, [](const auto& t) { return t.partitions.empty(); });
}

void FetchSession::remember(const protocol::FetchResponse& response, const std::vector<std::string>& names) {
  for (size_t ti = 0; ti < response.responses.size(); ++ti)
    for (const auto& pd : response.responses[ti].partitions)
      if (Part* p = find({names[ti], pd.partition_index})) {
        p->high_watermark = pd.high_watermark;
        p->last_stable_offset = pd.last_stable_offset;
        p->log_start_offset = pd.log_start_offset;
      }
}

std::shared_ptr<FetchSession> FetchSessionCache::create() {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (sessions_.size() >= slots_) {
    auto lru = sessions_.end();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
      if (lru == sessions_.end() || it->second->last_used < lru->second->last_used) lru = it;
    if (lru == sessions_.end() || now - lru->second->last_used < std::chrono::minutes(2)) return nullptr;
    sessions_.erase(lru);
  }
  int32_t id = 0;
  do {  // splitmix64: ids need not be secret, only unique and non-zero
    seed_ += 0x9E3779B97F4A7C15ULL ^ static_cast<uint64_t>(now.time_since_epoch().count());
    uint64_t z = seed_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    id = static_cast<int32_t>((z ^ (z >> 31)) & 0x7fffffff);
  } while (id == 0 || sessions_.count(id));
  auto s = std::make_shared<FetchSession>();
  s->id = id;
  s->last_used = now;
  sessions_.emplace(id, s);
  return s;
}

std::shared_ptr<FetchSession> FetchSessionCache::get(int32_t id) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  it->second->last_used = std::chrono::steady_clock::now();
  return it->second;
}

void FetchSessionCache::remove(int32_t id) {
  std::lock_guard lock(mu_);
  sessions_.erase(id);
}

size_t FetchSessionCache::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

FetchSessionCache& fetch_session_cache(const BrokerServices* services) { return *services->fetch_sessions; }

}  // namespace samsa::broker
