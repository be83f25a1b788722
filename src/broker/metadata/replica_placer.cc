#include "samsa/broker/metadata/replica_placer.h"

#include <algorithm>
#include <map>

namespace samsa::broker::metadata {

namespace {

using protocol::ErrorCode;

// Brokers of one kind (fenced or not) in one rack. Within an iteration epoch
// each broker is returned at most once; a new epoch starts one further on.
struct BrokerList {
  std::vector<int32_t> brokers;
  size_t index = 0;
  size_t offset = 0;
  int epoch = 0;

  int32_t next(int e) {
    if (brokers.empty()) return -1;
    if (epoch != e) {
      epoch = e;
      index = 0;
      offset = (offset + 1) % brokers.size();
    }
    if (index >= brokers.size()) return -1;
    return brokers[(index++ + offset) % brokers.size()];
  }
};

struct Rack {
  BrokerList unfenced;
  BrokerList fenced;
  int32_t next(int epoch) {
    int32_t b = unfenced.next(epoch);
    return b >= 0 ? b : fenced.next(epoch);
  }
};

class RackList {
 public:
  RackList(ReplicaPlacer& placer, const MetadataImage& image) : placer_(placer) {
    for (const auto& [id, b] : image.brokers) {
      if (b.in_controlled_shutdown) continue;
      Rack& rack = racks_[b.rack.value_or("")];  // no rack sorts first, as Kafka's empty Optional
      (b.fenced ? rack.fenced : rack.unfenced).brokers.push_back(id);
      ++total_;
      if (!b.fenced) ++unfenced_;
    }
    // Racks with an unfenced broker first, then the rest, each group sorted.
    for (auto& [name, rack] : racks_)
      if (!rack.unfenced.brokers.empty()) names_.push_back(name);
    for (auto& [name, rack] : racks_)
      if (rack.unfenced.brokers.empty()) names_.push_back(name);
    for (auto& [name, rack] : racks_) {
      for (BrokerList* list : {&rack.unfenced, &rack.fenced})
        if (!list->brokers.empty()) list->offset = placer_.next_random(list->brokers.size());
    }
    offset_ = names_.empty() ? 0 : placer_.next_random(names_.size());
  }

  int32_t total() const { return total_; }
  int32_t unfenced() const { return unfenced_; }

  std::vector<int32_t> place(int32_t replication_factor) {
    if (epoch_ == unfenced_ && unfenced_ > 1) {
      shuffle();
      epoch_ = 0;
    }
    if (offset_ == names_.size()) offset_ = 0;
    std::vector<int32_t> out;
    size_t first = offset_;
    while (true) {  // the leader: an unfenced broker
      int32_t b = racks_[names_[first]].unfenced.next(epoch_);
      if (b >= 0) {
        out.push_back(b);
        break;
      }
      if (++first == names_.size()) first = 0;
    }
    size_t rack_index = offset_;
    bool skip_first = true;
    for (int32_t r = 1; r < replication_factor; ++r) {
      int32_t b = -1;
      do {
        if (skip_first && rack_index == first) {
          skip_first = false;
        } else {
          b = racks_[names_[rack_index]].next(epoch_);
        }
        if (++rack_index == names_.size()) rack_index = 0;
      } while (b < 0);
      out.push_back(b);
    }
    ++epoch_;
    ++offset_;
    return out;
  }

 private:
  void shuffle() {
    auto shuffle_vec = [this](auto& v) {
      for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[placer_.next_random(i)]);
    };
    shuffle_vec(names_);
    for (auto& [name, rack] : racks_) {
      shuffle_vec(rack.unfenced.brokers);
      shuffle_vec(rack.fenced.brokers);
    }
  }

  ReplicaPlacer& placer_;
  std::map<std::string, Rack> racks_;
  std::vector<std::string> names_;
  int32_t total_ = 0;
  int32_t unfenced_ = 0;
  int epoch_ = 0;
  size_t offset_ = 0;
};

}  // namespace

ReplicaPlacer::ReplicaPlacer() : rng_(std::random_device{}()) {}

uint64_t ReplicaPlacer::next_random(uint64_t bound) {
  return bound <= 1 ? 0 : std::uniform_int_distribution<uint64_t>(0, bound - 1)(rng_);
}

std::variant<Assignment, ApiError> ReplicaPlacer::place(const MetadataImage& image, int32_t count,
                                                        int32_t replication_factor) {
  RackList racks(*this, image);
  auto fail = [&](const std::string& why) {
    return ApiError{ErrorCode::INVALID_REPLICATION_FACTOR,
                    "Unable to replicate the partition " + std::to_string(replication_factor) + " time(s): " + why};
  };
  if (replication_factor <= 0)
    return fail("Invalid replication factor " + std::to_string(replication_factor) +
                ": the replication factor must be positive.");
  if (racks.unfenced() == 0) return fail("All brokers are currently fenced.");
  if (replication_factor > racks.total())
    return fail("The target replication factor of " + std::to_string(replication_factor) +
                " cannot be reached because only " + std::to_string(racks.total()) + " broker(s) are registered.");
  Assignment out;
  out.reserve(static_cast<size_t>(std::max(count, 0)));
  for (int32_t p = 0; p < count; ++p) out.push_back(racks.place(replication_factor));
  return out;
}

}  // namespace samsa::broker::metadata
