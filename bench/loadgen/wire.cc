#include "wire.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "samsa/protocol/gen/produce_request.h"
#include "samsa/protocol/record_batch.h"

namespace samsa::bench::loadgen {

void set_correlation_id(std::span<uint8_t> frame, int32_t id) {
  auto u = static_cast<uint32_t>(id);
  for (int i = 3; i >= 0; --i, u >>= 8) frame[kCorrelationIdPos + i] = static_cast<uint8_t>(u);
}

namespace {

// xorshift64*: cheap, and its bytes do not compress, like real payloads.
struct Random {
  uint64_t s;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
  }
  void fill(std::vector<uint8_t>& v) {
    size_t i = 0;
    for (; i + 8 <= v.size(); i += 8) {
      const uint64_t x = next();
      std::memcpy(v.data() + i, &x, 8);
    }
    for (uint64_t x = next(); i < v.size(); ++i, x >>= 8) v[i] = static_cast<uint8_t>(x);
  }
};

}  // namespace

std::vector<EncodedProduce> build_produce_ring(const ProduceLayout& layout, int count,
                                               uint64_t seed, int64_t base_time_ms) {
  const auto n = static_cast<int>(layout.partitions.size());
  const int per_request = layout.batches_per_request <= 0 || layout.batches_per_request > n
                              ? n
                              : layout.batches_per_request;
  Random rnd{seed * 0x9E3779B97F4A7C15ULL + 1};
  std::vector<uint8_t> value(static_cast<size_t>(layout.record_size));
  std::vector<EncodedProduce> ring;
  ring.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    EncodedProduce out;
    protocol::ProduceRequest req;
    req.acks = layout.acks;
    req.timeout_ms = layout.timeout_ms;
    auto& topic = req.topic_data.emplace_back();
    topic.name = layout.topic;
    for (int b = 0; b < per_request; ++b) {
      const int32_t partition =
          layout.partitions[static_cast<size_t>((i * per_request + b) % n)];
      protocol::RecordBatchBuilder builder;
      for (int r = 0; r < layout.batch_records; ++r) {
        rnd.fill(value);
        builder.append(base_time_ms + i, std::nullopt, std::span<const uint8_t>(value));
      }
      auto bytes = std::make_shared<std::vector<uint8_t>>(builder.build());
      out.records += layout.batch_records;
      out.batch_bytes += static_cast<int64_t>(bytes->size());
      auto& pd = topic.partition_data.emplace_back();
      pd.index = partition;
      pd.records = protocol::Records::borrow(*bytes, bytes);
    }
    out.frame = encode_request(req, kProduceVersion, 0);
    ring.push_back(std::move(out));
  }
  return ring;
}

}  // namespace samsa::bench::loadgen
