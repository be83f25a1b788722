// Request framing and the pre-encoded Produce requests of samsa-loadgen.
// Messages are the project's generated codecs (samsa/protocol/gen); this file
// only adds the size prefix and headers, and builds the request ring.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "samsa/protocol/gen/request_header.h"
#include "samsa/protocol/gen/response_header.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::bench::loadgen {

inline constexpr const char* kClientId = "samsa-loadgen";

// The versions the tool speaks: the first flexible version of each API
// (Fetch v12 is the last one that names topics instead of topic ids).
inline constexpr int16_t kProduceVersion = 9;
inline constexpr int16_t kFetchVersion = 12;
inline constexpr int16_t kListOffsetsVersion = 7;
inline constexpr int16_t kMetadataVersion = 12;
inline constexpr int16_t kCreateTopicsVersion = 7;

// Byte offset of the correlation id in a size-prefixed request frame with a
// v1/v2 header: size(4) api_key(2) api_version(2).
inline constexpr size_t kCorrelationIdPos = 8;

inline int16_t header_version(int16_t first_flexible, int16_t version) {
  return version >= first_flexible ? 2 : 1;
}

// Size-prefixed frame: request header + body.
template <class Msg>
std::vector<uint8_t> encode_request(const Msg& msg, int16_t version, int32_t correlation_id) {
  protocol::WireWriter w;
  w.buffer().resize(4);  // size, patched below
  protocol::RequestHeader h;
  h.request_api_key = Msg::kApiKey;
  h.request_api_version = version;
  h.correlation_id = correlation_id;
  h.client_id = kClientId;
  h.encode(w, header_version(Msg::kFirstFlexibleVersion, version));
  msg.encode(w, version);
  w.patch_int32(0, static_cast<int32_t>(w.size() - 4));
  return w.take();
}

// Decodes a response frame (without its size prefix); throws
// protocol::DecodeError if it is malformed or answers another request.
// Records fields borrow from `frame`.
template <class Msg>
Msg decode_response(std::span<const uint8_t> frame, int16_t version, int32_t correlation_id) {
  protocol::WireReader r(frame);
  protocol::ResponseHeader h;
  h.decode(r, version >= Msg::kFirstFlexibleVersion ? 1 : 0);
  if (h.correlation_id != correlation_id)
    throw protocol::DecodeError("correlation id " + std::to_string(h.correlation_id) +
                                ", expected " + std::to_string(correlation_id));
  Msg m;
  m.decode(r, version);
  return m;
}

void set_correlation_id(std::span<uint8_t> frame, int32_t id);

struct ProduceLayout {
  std::string topic;
  std::vector<int32_t> partitions;  // the connection's partitions
  int batches_per_request = 0;      // 0 or > partitions.size(): all of them
  int record_size = 1024;
  int batch_records = 16;
  int16_t acks = 1;
  int32_t timeout_ms = 30000;
};

struct EncodedProduce {
  std::vector<uint8_t> frame;  // size-prefixed, correlation id patched before sending
  int64_t records = 0;
  int64_t batch_bytes = 0;     // record batch bytes (what the broker stores)
};

// `count` distinct Produce requests. Request i carries one batch (record
// batch v2, CRC-32C, base offset 0, producer id -1, null keys) for each of
// batches_per_request partitions, starting at partition (i * that) mod N,
// so consecutive requests rotate over the partitions. Values are
// pseudo-random bytes from `seed` and i; timestamps are base_time_ms + i.
std::vector<EncodedProduce> build_produce_ring(const ProduceLayout& layout, int count,
                                               uint64_t seed, int64_t base_time_ms);

}  // namespace samsa::bench::loadgen
