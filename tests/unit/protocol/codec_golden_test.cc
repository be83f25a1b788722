// Golden encodings, written by hand from the protocol field layouts (not
// produced by our encoder): encode(struct) == bytes and decode(bytes) == struct.
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "samsa/protocol/gen/api_keys.h"
#include "samsa/protocol/gen/api_versions_request.h"
#include "samsa/protocol/gen/api_versions_response.h"
#include "samsa/protocol/gen/fetch_request.h"
#include "samsa/protocol/gen/metadata_request.h"
#include "samsa/protocol/gen/metadata_response.h"
#include "samsa/protocol/gen/produce_request.h"
#include "samsa/protocol/gen/request_header.h"
#include "samsa/protocol/gen/response_header.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::protocol {
namespace {

using Bytes = std::vector<uint8_t>;

template <class T>
Bytes enc(const T& x, int16_t v) {
  WireWriter w;
  x.encode(w, v);
  return w.take();
}

template <class T>
T dec(const Bytes& b, int16_t v) {
  WireReader r(b);
  T x;
  x.decode(r, v);
  EXPECT_TRUE(r.at_end()) << "trailing bytes";
  return x;
}

template <class T>
void check(const T& x, int16_t v, const Bytes& bytes) {
  EXPECT_EQ(enc(x, v), bytes);
  EXPECT_TRUE(dec<T>(bytes, v) == x);
}

// Header + body in one frame, as on the wire (without the size prefix).
template <class H, class B>
void check_framed(const H& h, int16_t hv, const B& body, int16_t bv, const Bytes& bytes) {
  WireWriter w;
  h.encode(w, hv);
  body.encode(w, bv);
  EXPECT_EQ(Bytes(w.view().begin(), w.view().end()), bytes);
  WireReader r(bytes);
  H h2;
  h2.decode(r, hv);
  B b2;
  b2.decode(r, bv);
  EXPECT_TRUE(r.at_end());
  EXPECT_TRUE(h2 == h);
  EXPECT_TRUE(b2 == body);
}

Uuid uuid_1_to_16() {
  Uuid u;
  for (int i = 0; i < 16; ++i) u.bytes[i] = static_cast<uint8_t>(i + 1);
  return u;
}

// ---------------------------------------------------------------- ApiVersions

TEST(CodecGolden, ApiVersionsRequestV0WithHeader) {
  RequestHeader h;
  h.request_api_key = 18;
  h.request_api_version = 0;
  h.correlation_id = 1;
  h.client_id = "abc";
  ASSERT_EQ(request_header_version(18, 0), 1);
  check_framed(h, 1, ApiVersionsRequest{}, 0,
               Bytes{0x00, 0x12,              // api key 18
                     0x00, 0x00,              // version 0
                     0x00, 0x00, 0x00, 0x01,  // correlation id
                     0x00, 0x03, 'a', 'b', 'c'});
}

TEST(CodecGolden, ApiVersionsRequestV3WithHeader) {
  RequestHeader h;
  h.request_api_key = 18;
  h.request_api_version = 3;
  h.correlation_id = 7;
  h.client_id = "cli";
  ApiVersionsRequest req;
  req.client_software_name = "samsa";
  req.client_software_version = "0.1";
  ASSERT_EQ(request_header_version(18, 3), 2);
  check_framed(h, 2, req, 3,
               Bytes{0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x07,
                     0x00, 0x03, 'c', 'l', 'i',  // client id: always a classic string
                     0x00,                       // header tagged fields
                     0x06, 's', 'a', 'm', 's', 'a',
                     0x04, '0', '.', '1',
                     0x00});
  // A null client id, still classic in a flexible header.
  h.client_id = std::nullopt;
  check(h, 2, Bytes{0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x07, 0xff, 0xff, 0x00});
}

TEST(CodecGolden, ApiVersionsResponseV0) {
  ApiVersionsResponse resp;
  resp.api_keys.push_back({0, 0, 11, {}});
  resp.api_keys.push_back({18, 0, 4, {}});
  check(resp, 0,
        Bytes{0x00, 0x00,                          // error code
              0x00, 0x00, 0x00, 0x02,              // two entries
              0x00, 0x00, 0x00, 0x00, 0x00, 0x0b,  // Produce 0..11
              0x00, 0x12, 0x00, 0x00, 0x00, 0x04}); // ApiVersions 0..4
}

const Bytes kApiVersionsV3 = {
    0x00, 0x00,                                      // error code
    0x02,                                            // one api key
    0x00, 0x12, 0x00, 0x00, 0x00, 0x04, 0x00,        // 18: 0..4, no tags
    0x00, 0x00, 0x00, 0x00,                          // throttle time
    0x02,                                            // two tagged fields
    0x00, 0x08,                                      // tag 0 (SupportedFeatures), 8 bytes
    0x02, 0x02, 'x', 0x00, 0x01, 0x00, 0x02, 0x00,   //   [{"x", 1, 2}]
    0x01, 0x08,                                      // tag 1 (FinalizedFeaturesEpoch), 8 bytes
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05};

ApiVersionsResponse api_versions_v3_struct() {
  ApiVersionsResponse resp;
  resp.api_keys.push_back({18, 0, 4, {}});
  resp.supported_features.push_back({"x", 1, 2, {}});
  resp.finalized_features_epoch = 5;
  return resp;
}

TEST(CodecGolden, ApiVersionsResponseV3) {
  check(api_versions_v3_struct(), 3, kApiVersionsV3);
  ResponseHeader rh;
  rh.correlation_id = 7;
  ASSERT_EQ(response_header_version(18, 3), 0);  // ApiVersions: always header v0
  check(rh, 0, Bytes{0x00, 0x00, 0x00, 0x07});
  check(rh, 1, Bytes{0x00, 0x00, 0x00, 0x07, 0x00});
}

TEST(CodecGolden, UnknownTaggedFieldIsPreserved) {
  Bytes b = kApiVersionsV3;
  b[14] = 0x03;  // three tagged fields
  for (uint8_t x : {0x07, 0x02, 0xaa, 0xbb}) b.push_back(x);  // tag 7, 2 bytes
  auto resp = dec<ApiVersionsResponse>(b, 3);
  ASSERT_EQ(resp.unknown_tagged_fields.size(), 1u);
  EXPECT_EQ(resp.unknown_tagged_fields[0].tag, 7u);
  EXPECT_EQ(resp.unknown_tagged_fields[0].data, (Bytes{0xaa, 0xbb}));
  EXPECT_EQ(resp.finalized_features_epoch, 5);
  EXPECT_EQ(enc(resp, 3), b);
}

TEST(CodecGolden, KnownTaggedFieldMustFillItsSize) {
  Bytes longer = kApiVersionsV3;  // tag 1 claims 9 bytes, int64 reads 8
  longer[26] = 0x09;
  longer.push_back(0x00);
  EXPECT_THROW(dec<ApiVersionsResponse>(longer, 3), DecodeError);
  Bytes shorter = kApiVersionsV3;  // tag 1 claims 4 bytes
  shorter[26] = 0x04;
  shorter.resize(shorter.size() - 4);
  EXPECT_THROW(dec<ApiVersionsResponse>(shorter, 3), DecodeError);
}

TEST(CodecGolden, VersionRangeIsEnforced) {
  ApiVersionsResponse resp;
  WireWriter w;
  EXPECT_THROW(resp.encode(w, 5), std::invalid_argument);
  EXPECT_THROW(resp.encode(w, -1), std::invalid_argument);
  Bytes b{0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_THROW(dec<ApiVersionsResponse>(b, 5), DecodeError);
}

// ------------------------------------------------------------------- Metadata

TEST(CodecGolden, MetadataRequestV1) {
  MetadataRequest req;
  req.topics.emplace();
  req.topics->push_back({});
  req.topics->back().name = "foo";
  check(req, 1, Bytes{0x00, 0x00, 0x00, 0x01, 0x00, 0x03, 'f', 'o', 'o'});
  // Null = all topics (nullable from v1).
  req.topics = std::nullopt;
  check(req, 1, Bytes{0xff, 0xff, 0xff, 0xff});
  // Not nullable in v0.
  WireWriter w;
  EXPECT_THROW(req.encode(w, 0), std::invalid_argument);
  EXPECT_THROW(dec<MetadataRequest>(Bytes{0xff, 0xff, 0xff, 0xff}, 0), DecodeError);
}

TEST(CodecGolden, MetadataRequestV9) {
  MetadataRequest req;
  req.topics.emplace();
  req.topics->push_back({});
  req.topics->back().name = "foo";
  req.allow_auto_topic_creation = true;
  req.include_topic_authorized_operations = true;
  check(req, 9,
        Bytes{0x02,                    // one topic
              0x04, 'f', 'o', 'o',     // name
              0x00,                    // topic tags
              0x01,                    // allow auto topic creation
              0x00,                    // include cluster authorized operations
              0x01,                    // include topic authorized operations
              0x00});
}

TEST(CodecGolden, MetadataResponseV0) {
  MetadataResponse resp;
  resp.brokers.push_back({});
  resp.brokers[0].node_id = 1;
  resp.brokers[0].host = "localhost";
  resp.brokers[0].port = 9092;
  // Fields absent in v0 stay at their defaults after decoding.
  EXPECT_EQ(resp.controller_id, -1);
  EXPECT_EQ(resp.cluster_id, std::nullopt);
  check(resp, 0,
        Bytes{0x00, 0x00, 0x00, 0x01,                                     // one broker
              0x00, 0x00, 0x00, 0x01,                                     // node id
              0x00, 0x09, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't',    // host
              0x00, 0x00, 0x23, 0x84,                                     // port 9092
              0x00, 0x00, 0x00, 0x00});                                   // no topics
}

TEST(CodecGolden, MetadataResponseV12) {
  MetadataResponse resp;
  resp.brokers.push_back({});
  resp.brokers[0].node_id = 1;
  resp.brokers[0].host = "localhost";
  resp.brokers[0].port = 9092;
  resp.cluster_id = "c1";
  resp.controller_id = 1;
  auto& t = resp.topics.emplace_back();
  t.name = "t";
  t.topic_id = uuid_1_to_16();
  auto& p = t.partitions.emplace_back();
  p.leader_id = 1;
  p.leader_epoch = 5;
  p.replica_nodes = {1};
  p.isr_nodes = {1};
  check(resp, 12,
        Bytes{0x00, 0x00, 0x00, 0x00,                                     // throttle time
              0x02,                                                       // one broker
              0x00, 0x00, 0x00, 0x01,                                     //   node id
              0x0a, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't',          //   host
              0x00, 0x00, 0x23, 0x84,                                     //   port
              0x00,                                                       //   rack: null
              0x00,                                                       //   tags
              0x03, 'c', '1',                                             // cluster id
              0x00, 0x00, 0x00, 0x01,                                     // controller id
              0x02,                                                       // one topic
              0x00, 0x00,                                                 //   error code
              0x02, 't',                                                  //   name
              0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,             //   topic id
              0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
              0x00,                                                       //   is internal
              0x02,                                                       //   one partition
              0x00, 0x00,                                                 //     error code
              0x00, 0x00, 0x00, 0x00,                                     //     index
              0x00, 0x00, 0x00, 0x01,                                     //     leader
              0x00, 0x00, 0x00, 0x05,                                     //     leader epoch
              0x02, 0x00, 0x00, 0x00, 0x01,                               //     replicas [1]
              0x02, 0x00, 0x00, 0x00, 0x01,                               //     isr [1]
              0x01,                                                       //     offline []
              0x00,                                                       //     tags
              0x80, 0x00, 0x00, 0x00,                                     //   topic authorized ops
              0x00,                                                       //   tags
              0x00});                                                     // tags
}

// -------------------------------------------------------------------- Produce

const Bytes kRecords = {0xde, 0xad, 0xbe, 0xef, 0x00};

TEST(CodecGolden, ProduceRequestV3) {
  ProduceRequest req;
  req.acks = -1;
  req.timeout_ms = 30000;
  auto& td = req.topic_data.emplace_back();
  td.name = "t";
  auto& pd = td.partition_data.emplace_back();
  pd.index = 0;
  pd.records = Records::copy_of(kRecords);
  check(req, 3,
        Bytes{0xff, 0xff,                     // transactional id: null
              0xff, 0xff,                     // acks -1
              0x00, 0x00, 0x75, 0x30,         // timeout 30000
              0x00, 0x00, 0x00, 0x01,         // one topic
              0x00, 0x01, 't',                //   name
              0x00, 0x00, 0x00, 0x01,         //   one partition
              0x00, 0x00, 0x00, 0x00,         //     index
              0x00, 0x00, 0x00, 0x05,         //     records size
              0xde, 0xad, 0xbe, 0xef, 0x00});
}

TEST(CodecGolden, ProduceRequestV9) {
  ProduceRequest req;
  req.transactional_id = "tx";
  req.acks = 1;
  req.timeout_ms = 30000;
  auto& td = req.topic_data.emplace_back();
  td.name = "t";
  auto& pd = td.partition_data.emplace_back();
  pd.index = 2;
  pd.records = Records::copy_of(kRecords);
  const Bytes bytes{0x03, 't', 'x',                 // transactional id
                    0x00, 0x01,                     // acks
                    0x00, 0x00, 0x75, 0x30,         // timeout
                    0x02,                           // one topic
                    0x02, 't',                      //   name
                    0x02,                           //   one partition
                    0x00, 0x00, 0x00, 0x02,         //     index
                    0x06, 0xde, 0xad, 0xbe, 0xef, 0x00,  // records (compact)
                    0x00,                           //     tags
                    0x00,                           //   tags
                    0x00};                          // tags
  check(req, 9, bytes);
  // Decoded records borrow the frame; they compare by content.
  auto decoded = dec<ProduceRequest>(bytes, 9);
  EXPECT_EQ(decoded.topic_data[0].partition_data[0].records.size(), 5u);
}

// ---------------------------------------------------------------------- Fetch

TEST(CodecGolden, FetchRequestV4) {
  FetchRequest req;
  req.replica_id = -1;
  req.max_wait_ms = 500;
  req.min_bytes = 1;
  req.isolation_level = 1;
  auto& t = req.topics.emplace_back();
  t.topic = "t";
  auto& p = t.partitions.emplace_back();
  p.fetch_offset = 100;
  p.partition_max_bytes = 1048576;
  check(req, 4,
        Bytes{0xff, 0xff, 0xff, 0xff,                          // replica id -1
              0x00, 0x00, 0x01, 0xf4,                          // max wait 500
              0x00, 0x00, 0x00, 0x01,                          // min bytes
              0x7f, 0xff, 0xff, 0xff,                          // max bytes (default)
              0x01,                                            // read_committed
              0x00, 0x00, 0x00, 0x01,                          // one topic
              0x00, 0x01, 't',                                 //   topic
              0x00, 0x00, 0x00, 0x01,                          //   one partition
              0x00, 0x00, 0x00, 0x00,                          //     partition
              0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     fetch offset 100
              0x00, 0x10, 0x00, 0x00});                        //     partition max bytes
}

FetchRequest fetch_v12_struct() {
  FetchRequest req;
  req.max_wait_ms = 500;
  req.min_bytes = 1;
  auto& t = req.topics.emplace_back();
  t.topic = "t";
  auto& p = t.partitions.emplace_back();
  p.current_leader_epoch = 5;
  p.fetch_offset = 100;
  p.last_fetched_epoch = 4;
  p.partition_max_bytes = 1048576;
  return req;
}

const Bytes kFetchV12Prefix = {
    0xff, 0xff, 0xff, 0xff,                          // replica id -1
    0x00, 0x00, 0x01, 0xf4,                          // max wait
    0x00, 0x00, 0x00, 0x01,                          // min bytes
    0x7f, 0xff, 0xff, 0xff,                          // max bytes
    0x00,                                            // isolation level
    0x00, 0x00, 0x00, 0x00,                          // session id
    0xff, 0xff, 0xff, 0xff,                          // session epoch -1
    0x02,                                            // one topic
    0x02, 't',                                       //   topic
    0x02,                                            //   one partition
    0x00, 0x00, 0x00, 0x00,                          //     partition
    0x00, 0x00, 0x00, 0x05,                          //     current leader epoch
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     fetch offset
    0x00, 0x00, 0x00, 0x04,                          //     last fetched epoch
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  //     log start offset -1
    0x00, 0x10, 0x00, 0x00,                          //     partition max bytes
    0x00,                                            //     tags
    0x00,                                            //   tags
    0x01,                                            // forgotten topics: []
    0x01};                                           // rack id ""

TEST(CodecGolden, FetchRequestV12) {
  Bytes bytes = kFetchV12Prefix;
  bytes.push_back(0x00);  // no tagged fields: cluster id is at its default (null)
  check(fetch_v12_struct(), 12, bytes);
}

TEST(CodecGolden, FetchRequestV12WithTaggedClusterId) {
  FetchRequest req = fetch_v12_struct();
  req.cluster_id = "c";
  Bytes bytes = kFetchV12Prefix;
  for (uint8_t b : {0x01, 0x00, 0x02, 0x02, 0x63}) bytes.push_back(b);  // 1 field: tag 0, 2 bytes, "c"
  check(req, 12, bytes);
}

// ------------------------------------------------------------------- Api table

TEST(ApiKeys, Table) {
  EXPECT_EQ(all_apis().size(), 88u);
  const ApiInfo* fetch = find_api(1);
  ASSERT_NE(fetch, nullptr);
  EXPECT_STREQ(fetch->name, "Fetch");
  EXPECT_EQ(fetch->max_version, 17);
  EXPECT_EQ(fetch->first_flexible_version, 12);
  EXPECT_TRUE(fetch->listener_controller);
  EXPECT_EQ(find_api(-1), nullptr);
  EXPECT_EQ(find_api(1000), nullptr);
  EXPECT_EQ(static_cast<int16_t>(ApiKey::ApiVersions), 18);
  EXPECT_EQ(static_cast<int16_t>(ApiKey::ReadShareGroupStateSummary), 87);
  const ApiInfo* sasl = find_api(17);
  ASSERT_NE(sasl, nullptr);
  EXPECT_EQ(sasl->first_flexible_version, kNoFlexibleVersion);
  EXPECT_TRUE(find_api(26)->latest_version_unstable);
  EXPECT_EQ(request_header_version(7, 0), 0);   // ControlledShutdown v0
  EXPECT_EQ(request_header_version(7, 1), 1);
  EXPECT_EQ(request_header_version(7, 3), 2);
  EXPECT_EQ(request_header_version(17, 1), 1);  // SaslHandshake: never flexible
  EXPECT_EQ(response_header_version(3, 8), 0);
  EXPECT_EQ(response_header_version(3, 9), 1);
  EXPECT_EQ(response_header_version(18, 4), 0);
  for (const auto& a : all_apis()) EXPECT_EQ(find_api(a.key), &a);
}

}  // namespace
}  // namespace samsa::protocol
