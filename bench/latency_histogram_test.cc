// Unit tests of the benchmark tools' percentile maths and option parsing.
#include "api_versions.h"
#include "latency_histogram.h"
#include "options.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <vector>

namespace samsa::bench {
namespace {

// Exact nearest-rank percentile of a sample, for comparison.
uint64_t exact_percentile(std::vector<uint64_t> v, double p) {
  std::sort(v.begin(), v.end());
  if (p >= 100) return v.back();
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

TEST(LatencyHistogram, EmptyReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.percentile(100), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
}

TEST(LatencyHistogram, BucketsAreContiguousAndCoverEveryValue) {
  using H = LatencyHistogram;
  EXPECT_EQ(H::bucket_of(UINT64_MAX), H::kBuckets - 1);
  EXPECT_EQ(H::bucket_high(H::kBuckets - 1), UINT64_MAX);
  for (size_t i = 0; i + 1 < H::kBuckets; ++i) {
    ASSERT_EQ(H::bucket_high(i) + 1, H::bucket_low(i + 1)) << i;
    ASSERT_EQ(H::bucket_of(H::bucket_low(i)), i);
    ASSERT_EQ(H::bucket_of(H::bucket_high(i)), i);
    // Width at most 1/64 of the bucket's lowest value (exact below 128).
    if (i >= H::kSubCount)
      ASSERT_LE(H::bucket_high(i) - H::bucket_low(i) + 1, H::bucket_low(i) / 64) << i;
    else
      ASSERT_EQ(H::bucket_low(i), H::bucket_high(i));
  }
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.record(v);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.percentile(50), 50u);
  EXPECT_EQ(h.percentile(95), 95u);
  EXPECT_EQ(h.percentile(99), 99u);
  EXPECT_EQ(h.percentile(99.9), 100u);
  EXPECT_EQ(h.percentile(100), 100u);
  EXPECT_EQ(h.percentile(0), 1u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(LatencyHistogram, SingleSampleIsExactAtEveryPercentile) {
  LatencyHistogram h;
  h.record(123456789);
  for (double p : {0.0, 1.0, 50.0, 99.9, 100.0}) EXPECT_EQ(h.percentile(p), 123456789u) << p;
}

TEST(LatencyHistogram, LargeValuesWithinRelativeError) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(13.0, 1.5);  // ~0.4 ms median in ns
  std::vector<uint64_t> v;
  LatencyHistogram h;
  for (int i = 0; i < 100000; ++i) {
    const auto x = static_cast<uint64_t>(dist(rng)) + 1;
    v.push_back(x);
    h.record(x);
  }
  for (double p : {1.0, 50.0, 90.0, 95.0, 99.0, 99.9, 99.99}) {
    const uint64_t want = exact_percentile(v, p);
    const uint64_t got = h.percentile(p);
    EXPECT_GE(got, want) << p;  // upper bound of the bucket
    EXPECT_LE(static_cast<double>(got), static_cast<double>(want) * (1 + 1.0 / 64)) << p;
  }
  EXPECT_EQ(h.percentile(100), *std::max_element(v.begin(), v.end()));
  EXPECT_EQ(h.min(), *std::min_element(v.begin(), v.end()));
}

TEST(LatencyHistogram, PercentileNeverExceedsMax) {
  LatencyHistogram h;
  h.record(1000);  // bucket [1000, 1007]
  h.record(1001);
  EXPECT_EQ(h.percentile(50), 1001u);
  EXPECT_EQ(h.percentile(99), 1001u);
}

TEST(LatencyHistogram, MergeEqualsRecordingEverything) {
  LatencyHistogram a, b, all;
  for (uint64_t v = 1; v < 5000; v += 3) {
    (v % 2 ? a : b).record(v * 1000);
    all.record(v * 1000);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_EQ(a.min(), all.min());
  for (double p : {50.0, 99.0, 99.9}) EXPECT_EQ(a.percentile(p), all.percentile(p));
  a.reset();
  EXPECT_EQ(a.count(), 0u);
}

TEST(Options, PropertyAndAcks) {
  EXPECT_EQ(parse_property("a.b=c=d"), std::make_pair(std::string("a.b"), std::string("c=d")));
  EXPECT_EQ(parse_property("k="), std::make_pair(std::string("k"), std::string()));
  EXPECT_THROW(parse_property("novalue"), std::invalid_argument);
  EXPECT_THROW(parse_property("=v"), std::invalid_argument);
  EXPECT_EQ(normalize_acks("all"), "-1");
  EXPECT_EQ(normalize_acks("-1"), "-1");
  EXPECT_EQ(normalize_acks("0"), "0");
  EXPECT_THROW(normalize_acks("2"), std::invalid_argument);
}

// Parses argv (without the program name) into ProducerOptions; returns the
// CLI11 exit code (0 = success).
int parse_producer(std::vector<std::string> args, ProducerOptions& o) {
  CLI::App app;
  add_producer_options(app, o);
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  try {
    app.parse(args);
    return 0;
  } catch (const CLI::ParseError& e) {
    return e.get_exit_code() == 0 ? -1 : e.get_exit_code();
  }
}

TEST(Options, ProducerCommandLine) {
  ProducerOptions o;
  ASSERT_EQ(parse_producer({"--bootstrap", "127.0.0.1:9", "--topic", "t", "--records", "1000",
                            "--record-size", "1024", "--acks", "all", "--linger-ms", "7",
                            "--batch-size", "65536", "--compression", "zstd", "--partitions", "6",
                            "--create-partitions", "6", "--throughput", "2500", "-X", "a=1",
                            "-X", "b=2", "--json", "--timeout-s", "30"},
                           o),
            0);
  EXPECT_EQ(o.bootstrap, "127.0.0.1:9");
  EXPECT_EQ(o.topic, "t");
  EXPECT_EQ(o.records, 1000);
  EXPECT_EQ(o.record_size, 1024);
  EXPECT_EQ(normalize_acks(o.acks), "-1");
  EXPECT_EQ(o.linger_ms, 7);
  EXPECT_EQ(o.batch_size, 65536);
  EXPECT_EQ(o.compression, "zstd");
  EXPECT_EQ(o.partitions, 6);
  EXPECT_EQ(o.create_partitions, 6);
  EXPECT_DOUBLE_EQ(o.throughput, 2500);
  EXPECT_EQ(o.props, (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_TRUE(o.json);
  EXPECT_DOUBLE_EQ(o.timeout_s, 30);
}

TEST(Options, ProducerDefaultsAndNegativeNumbers) {
  ProducerOptions o;
  ASSERT_EQ(parse_producer({"--topic", "t", "--records", "5", "--acks", "-1", "--throughput",
                            "-1"},
                           o),
            0);
  EXPECT_EQ(o.acks, "-1");
  EXPECT_DOUBLE_EQ(o.throughput, -1);
  EXPECT_EQ(o.bootstrap, "127.0.0.1:9092");
  EXPECT_EQ(o.compression, "none");
  EXPECT_DOUBLE_EQ(o.timeout_s, 120);
  EXPECT_FALSE(o.json);
}

TEST(Options, ProducerRejectsBadValues) {
  const std::vector<std::string> base = {"--topic", "t", "--records", "5"};
  for (const auto& extra : std::vector<std::vector<std::string>>{
           {"--acks", "2"}, {"--compression", "brotli"}, {"-X", "noequals"},
           {"--record-size", "-3"}, {"--records", "0"}, {"--bogus", "1"}}) {
    ProducerOptions o;
    auto args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    EXPECT_NE(parse_producer(args, o), 0) << extra[0];
  }
  ProducerOptions o;
  EXPECT_NE(parse_producer({"--records", "5"}, o), 0) << "--topic is required";
}

TEST(Options, JsonObject) {
  JsonObject j;
  EXPECT_EQ(j.str(), "{}");
  j.add("s", "a\"b\\c\n").add("i", int64_t{-3}).add("d", 1.5).add("b", true);
  EXPECT_EQ(j.str(), R"({"s":"a\"b\\c\n","i":-3,"d":1.5,"b":true})");
}

TEST(ApiVersions, RequestBytes) {
  const std::vector<uint8_t> want = {0, 0, 0, 12, 0, 18, 0, 0, 0, 0, 0x12, 0x34, 0, 2, 'i', 'd'};
  EXPECT_EQ(encode_api_versions_request(0x1234, "id"), want);
}

std::vector<uint8_t> response(int32_t corr, int16_t err,
                              const std::vector<std::array<int16_t, 3>>& apis) {
  std::vector<uint8_t> b;
  auto put = [&](uint32_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  put(static_cast<uint32_t>(corr), 4);
  put(static_cast<uint16_t>(err), 2);
  put(static_cast<uint32_t>(apis.size()), 4);
  for (const auto& a : apis)
    for (int16_t v : a) put(static_cast<uint16_t>(v), 2);
  return b;
}

TEST(ApiVersions, ParseAndCheck) {
  const auto body = response(7, 0, {{18, 0, 3}, {3, 0, 12}, {0, 3, 9}, {60, 0, 0}});
  const auto apis = parse_api_versions_response(body.data(), body.size(), 7);
  ASSERT_TRUE(apis.has_value());
  EXPECT_EQ(apis->size(), 4u);
  EXPECT_EQ(apis->at(0).min, 3);
  EXPECT_EQ(apis->at(0).max, 9);
  EXPECT_EQ(missing_api(*apis, {kMetadata, kProduce}), "");
  EXPECT_EQ(missing_api(*apis, {kMetadata, kFetch}), "broker does not support Fetch (ApiKey 1)");
  EXPECT_EQ(missing_api(*apis, {kCreateTopics}),
            "broker does not support CreateTopics (ApiKey 19)");

  const auto only_new = response(7, 0, {{0, 8, 9}});
  const auto a2 = parse_api_versions_response(only_new.data(), only_new.size(), 7);
  ASSERT_TRUE(a2.has_value());
  EXPECT_EQ(missing_api(*a2, {kProduce}),
            "broker supports Produce (ApiKey 0) only from v8, librdkafka at most v7");
}

TEST(ApiVersions, RejectsMalformed) {
  const auto body = response(7, 0, {{18, 0, 3}, {3, 0, 12}});
  EXPECT_FALSE(parse_api_versions_response(body.data(), body.size(), 8));      // correlation
  EXPECT_FALSE(parse_api_versions_response(body.data(), body.size() - 1, 7));  // truncated
  EXPECT_FALSE(parse_api_versions_response(body.data(), 3, 7));
  const auto err = response(7, 35, {});
  EXPECT_FALSE(parse_api_versions_response(err.data(), err.size(), 7));        // error code
  auto huge = response(7, 0, {});
  huge[9] = 0x7f;  // claims 127 entries, has none
  EXPECT_FALSE(parse_api_versions_response(huge.data(), huge.size(), 7));
}

}  // namespace
}  // namespace samsa::bench
