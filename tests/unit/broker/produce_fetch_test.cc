// Produce and Fetch through the dispatcher (fixture: produce_fetch_fixture.h).
#include "produce_fetch_fixture.h"

#include <thread>

namespace samsa::broker {
namespace {

using protocol::FetchResponse;
using protocol::ProduceResponse;

TEST_F(ProduceFetchTest, ProduceThenFetchAtEveryServedVersion) {
  int64_t next = 0;
  for (int16_t v = 3; v <= 11; ++v) {
    auto p = produce(batch(5, 1000, protocol::CompressionType::kNone, "p" + std::to_string(v)), 0, v);
    EXPECT_EQ(p.error_code, 0) << "v" << v;
    EXPECT_EQ(p.base_offset, next);
    EXPECT_EQ(p.log_append_time_ms, -1);
    if (v >= 5) { EXPECT_EQ(p.log_start_offset, 0); }
    next += 5;
  }
  for (int16_t v = 4; v <= 17; ++v) {
    auto resp = call<FetchResponse>(1, v, fetch_req(10, v));
    ASSERT_EQ(resp.responses.size(), 1u);
    if (v >= 13) { EXPECT_EQ(resp.responses[0].topic_id, topic_id); }
    else EXPECT_EQ(resp.responses[0].topic, "t");
    const auto& pd = resp.responses[0].partitions.at(0);
    EXPECT_EQ(pd.error_code, 0) << "v" << v;
    EXPECT_EQ(pd.high_watermark, next);
    EXPECT_EQ(pd.last_stable_offset, next);
    if (v >= 5) { EXPECT_EQ(pd.log_start_offset, 0); }
    auto vals = values(pd.records);
    ASSERT_EQ(vals.size(), static_cast<size_t>(next - 10)) << "v" << v;
    EXPECT_EQ(vals.front(), "p50");
    EXPECT_EQ(resp.session_id, 0);
  }
}

TEST_F(ProduceFetchTest, FetchedRecordsAreFileSplicesNotCopies) {
  produce(batch(3));
  auto p = send(1, 11, fetch_req(0, 11));
  ASSERT_TRUE(p->wait(std::chrono::seconds(5)));
  ASSERT_EQ(p->reply->splices.size(), 1u);
  EXPECT_GT(p->reply->splices[0].range.length, 61u);
}

TEST_F(ProduceFetchTest, CompressedBatchesKeepTheirRecords) {
  using protocol::CompressionType;
  for (auto c : {CompressionType::kGzip, CompressionType::kSnappy, CompressionType::kLz4, CompressionType::kZstd})
    EXPECT_EQ(produce(batch(100, 1000, c), 1).error_code, 0);
  auto resp = call<FetchResponse>(1, 12, fetch_req(0, 12, {1}));
  auto vals = values(resp.responses[0].partitions[0].records);
  ASSERT_EQ(vals.size(), 400u);
  EXPECT_EQ(vals[399], "v99");
}

TEST_F(ProduceFetchTest, TopicCompressionTypeRecompressesOnProduce) {
  auto image = std::make_shared<MetadataImage>(*services.metadata.current());
  auto configs = std::make_shared<ConfigsImage>(*image->configs);
  configs->resources[ConfigResource{ConfigResourceType::kTopic, "t"}] =
      std::make_shared<const ConfigMap>(ConfigMap{{"compression.type", "zstd"}});
  image->configs = configs;
  services.metadata.publish(image);
  pm->apply(*image);
  EXPECT_EQ(produce(batch(20, 1000, protocol::CompressionType::kGzip)).error_code, 0);
  auto resp = call<FetchResponse>(1, 12, fetch_req(0, 12));
  const auto& records = resp.responses[0].partitions[0].records;
  auto batches = protocol::split_batches(records.bytes(), true).batches;
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].header.compression(), protocol::CompressionType::kZstd);
  EXPECT_TRUE(protocol::verify_crc(batches[0].bytes));
  auto vals = values(records);
  ASSERT_EQ(vals.size(), 20u);
  EXPECT_EQ(vals[19], "v19");
}

TEST_F(ProduceFetchTest, ProduceV0ToV2ClosesTheConnectionLikeKafka4) {
  for (int16_t v = 0; v <= 2; ++v) {
    auto p = send(0, v, produce_req(batch(1)));
    ASSERT_TRUE(p->wait(std::chrono::seconds(1)));
    EXPECT_EQ(p->reply->kind, net::Reply::Kind::kClose) << "v" << v;
  }
}

TEST_F(ProduceFetchTest, ProduceErrors) {
  auto err = [&](protocol::ProduceRequest req, int16_t v = 9) {
    return call<ProduceResponse>(0, v, req).responses.at(0).partition_responses.at(0);
  };
  auto r = err(produce_req(batch(1), 0, 2));
  EXPECT_EQ(r.error_code, protocol::code(ErrorCode::INVALID_REQUIRED_ACKS));
  EXPECT_EQ(r.base_offset, -1);
  EXPECT_EQ(err(produce_req(batch(1), 0, 1, "missing")).error_code, protocol::code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  EXPECT_EQ(err(produce_req(batch(1), 9)).error_code, protocol::code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  auto bad_crc = batch(2);
  bad_crc.back() ^= 0x5a;
  EXPECT_EQ(err(produce_req(bad_crc)).error_code, protocol::code(ErrorCode::CORRUPT_MESSAGE));
  EXPECT_EQ(err(produce_req({})).error_code, protocol::code(ErrorCode::INVALID_RECORD));
  auto two = batch(1);
  auto second = batch(1);
  two.insert(two.end(), second.begin(), second.end());
  EXPECT_EQ(err(produce_req(two)).error_code, protocol::code(ErrorCode::INVALID_RECORD));
  EXPECT_EQ(err(produce_req(batch(1, 1000, protocol::CompressionType::kZstd)), 6).error_code,
            protocol::code(ErrorCode::UNSUPPORTED_COMPRESSION_TYPE));
  protocol::RecordBatchBuilder big;
  std::vector<uint8_t> value(2 << 20, 'x');
  big.append(1, std::nullopt, std::span<const uint8_t>(value));
  EXPECT_EQ(err(produce_req(big.build())).error_code, protocol::code(ErrorCode::MESSAGE_TOO_LARGE));
  // Nothing above reached the log.
  EXPECT_EQ(produce(batch(1)).base_offset, 0);
}

TEST_F(ProduceFetchTest, AcksZeroAnswersNothingOrClosesOnError) {
  auto ok = send(0, 9, produce_req(batch(1), 0, 0));
  ASSERT_TRUE(ok->wait(std::chrono::seconds(1)));
  EXPECT_EQ(ok->reply->kind, net::Reply::Kind::kNoResponse);
  auto bad = send(0, 9, produce_req(batch(1), 0, 0, "missing"));
  ASSERT_TRUE(bad->wait(std::chrono::seconds(1)));
  EXPECT_EQ(bad->reply->kind, net::Reply::Kind::kClose);
}

TEST_F(ProduceFetchTest, FetchErrors) {
  produce(batch(2));
  auto one = [&](protocol::FetchRequest req, int16_t v = 12) {
    return call<FetchResponse>(1, v, req).responses.at(0).partitions.at(0);
  };
  auto oor = one(fetch_req(5, 12));
  EXPECT_EQ(oor.error_code, protocol::code(ErrorCode::OFFSET_OUT_OF_RANGE));
  EXPECT_EQ(oor.high_watermark, -1);
  auto req = fetch_req(0, 12);
  req.topics[0].partitions[0].current_leader_epoch = 2;
  EXPECT_EQ(one(req).error_code, protocol::code(ErrorCode::FENCED_LEADER_EPOCH));
  req.topics[0].partitions[0].current_leader_epoch = 4;
  EXPECT_EQ(one(req).error_code, protocol::code(ErrorCode::UNKNOWN_LEADER_EPOCH));
  req.topics[0].partitions[0].current_leader_epoch = 3;
  EXPECT_EQ(one(req).error_code, 0);
  auto unknown = fetch_req(0, 13);
  unknown.topics[0].topic_id.bytes[0] = 1;
  EXPECT_EQ(one(unknown, 13).error_code, protocol::code(ErrorCode::UNKNOWN_TOPIC_ID));
  auto missing = fetch_req(0, 12, {5});
  EXPECT_EQ(one(missing).error_code, protocol::code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
}

TEST_F(ProduceFetchTest, FetchSessionsFullThenIncremental) {
  int64_t leo1 = 0;  // partition 1's log end; partition 0 stays empty
  for (int16_t v : {7, 12, 13, 17}) {
    auto req = fetch_req(0, v, {0, 1});
    req.topics[0].partitions[1].fetch_offset = leo1;
    req.session_id = 0;
    req.session_epoch = 0;  // full fetch asking for a session
    auto full = call<FetchResponse>(1, v, req);
    ASSERT_EQ(full.error_code, 0);
    ASSERT_NE(full.session_id, 0) << "v" << v;
    EXPECT_EQ(full.responses.at(0).partitions.size(), 2u);

    protocol::FetchRequest inc;
    inc.session_id = full.session_id;
    inc.session_epoch = 1;
    inc.min_bytes = 1;
    auto none = call<FetchResponse>(1, v, inc);  // nothing changed: no partitions
    EXPECT_EQ(none.error_code, 0);
    EXPECT_EQ(none.session_id, full.session_id);
    EXPECT_TRUE(none.responses.empty()) << "v" << v;

    auto before = produce(batch(3), 1).base_offset;
    inc.session_epoch = 2;
    auto news = call<FetchResponse>(1, v, inc);  // only partition 1 has news
    ASSERT_EQ(news.responses.size(), 1u);
    ASSERT_EQ(news.responses[0].partitions.size(), 1u);
    EXPECT_EQ(news.responses[0].partitions[0].partition_index, 1);
    EXPECT_EQ(values(news.responses[0].partitions[0].records).size(), static_cast<size_t>(before + 3 - leo1));

    inc.session_epoch = 2;  // stale epoch
    EXPECT_EQ(call<FetchResponse>(1, v, inc).error_code, protocol::code(ErrorCode::INVALID_FETCH_SESSION_EPOCH));

    inc.session_epoch = 3;  // forget partition 1: its new data no longer shows
    auto& f = inc.forgotten_topics_data.emplace_back();
    f.topic = "t";
    f.topic_id = topic_id;
    f.partitions = {1};
    leo1 = produce(batch(1), 1).base_offset + 1;
    EXPECT_TRUE(call<FetchResponse>(1, v, inc).responses.empty());

    inc.session_epoch = -1;  // close
    inc.forgotten_topics_data.clear();
    EXPECT_EQ(call<FetchResponse>(1, v, inc).session_id, 0);
    inc.session_epoch = 4;
    EXPECT_EQ(call<FetchResponse>(1, v, inc).error_code, protocol::code(ErrorCode::FETCH_SESSION_ID_NOT_FOUND));
  }
  auto sessionless = fetch_req(0, 12);
  sessionless.session_epoch = -1;
  EXPECT_EQ(call<FetchResponse>(1, 12, sessionless).session_id, 0);
}

TEST_F(ProduceFetchTest, SessionPartitionOfATopicIdNotYetKnownIsResolvedLater) {
  // A follower may open its session before this broker's image has the
  // topic; its later incremental fetches do not resend the unchanged
  // partition, so the session must look the id up again.
  auto with_topic = services.metadata.current();
  auto without = std::make_shared<MetadataImage>(*with_topic);
  without->topics = std::make_shared<TopicsImage>();
  services.metadata.publish(without);
  auto req = fetch_req(0, 17, {0});
  req.session_id = 0;
  req.session_epoch = 0;
  req.max_wait_ms = 0;
  auto full = call<FetchResponse>(1, 17, req);
  ASSERT_NE(full.session_id, 0);
  ASSERT_EQ(full.responses.at(0).partitions.at(0).error_code, protocol::code(ErrorCode::UNKNOWN_TOPIC_ID));

  services.metadata.publish(with_topic);
  produce(batch(2), 0);
  protocol::FetchRequest inc;
  inc.session_id = full.session_id;
  inc.session_epoch = 1;
  inc.max_wait_ms = 0;
  auto resolved = call<FetchResponse>(1, 17, inc);
  ASSERT_EQ(resolved.error_code, 0);
  ASSERT_EQ(resolved.responses.size(), 1u);
  const auto& pd = resolved.responses[0].partitions.at(0);
  EXPECT_EQ(pd.error_code, 0);
  EXPECT_EQ(values(pd.records).size(), 2u);
}

TEST_F(ProduceFetchTest, MaxBytesLetsOnlyTheFirstPartitionExceedIt) {
  produce(batch(50), 0);
  produce(batch(50), 1);
  auto req = fetch_req(0, 11, {0, 1});
  req.max_bytes = 10;
  auto resp = call<FetchResponse>(1, 11, req);
  EXPECT_EQ(values(resp.responses[0].partitions[0].records).size(), 50u);
  EXPECT_EQ(resp.responses[0].partitions[1].records.size(), 0u);
  EXPECT_EQ(resp.responses[0].partitions[1].error_code, 0);
}

TEST_F(ProduceFetchTest, LongPollCompletesOnProduce) {
  auto req = fetch_req(0, 11);
  req.max_wait_ms = 10000;
  auto parked = send(1, 11, req);
  EXPECT_FALSE(parked->wait(std::chrono::milliseconds(100)));
  EXPECT_EQ(produce(batch(4)).error_code, 0);
  ASSERT_TRUE(parked->wait(std::chrono::seconds(2)));
  auto resp = decode<FetchResponse>(*parked->reply, 1, 11);
  EXPECT_EQ(values(resp.responses[0].partitions[0].records).size(), 4u);
  EXPECT_EQ(parked->calls, 1);
  EXPECT_EQ(fetch_waiters(&services).size(), 0u);
}

TEST_F(ProduceFetchTest, LongPollExpiresAfterMaxWait) {
  auto req = fetch_req(0, 11);
  req.max_wait_ms = 150;
  auto start = std::chrono::steady_clock::now();
  auto parked = send(1, 11, req);
  ASSERT_TRUE(parked->wait(std::chrono::seconds(3)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(140));
  auto resp = decode<FetchResponse>(*parked->reply, 1, 11);
  EXPECT_EQ(resp.responses[0].partitions[0].error_code, 0);
  EXPECT_EQ(resp.responses[0].partitions[0].records.size(), 0u);
  EXPECT_EQ(fetch_waiters(&services).size(), 0u);
}

TEST_F(ProduceFetchTest, ParkedFetchesCompleteExactlyOnceUnderConcurrentProduce) {
  std::vector<std::shared_ptr<Pending>> parked;
  for (int i = 0; i < 40; ++i) {
    auto req = fetch_req(0, 11, {i % 2});
    req.max_wait_ms = i % 4 == 0 ? 3 : 3000;  // some expire while produces race them
    req.min_bytes = 1 + (i % 3) * 500;
    parked.push_back(send(1, 11, req));
  }
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t)
    producers.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) EXPECT_EQ(produce(batch(3), t % 2).error_code, 0);
    });
  for (auto& t : producers) t.join();
  for (auto& p : parked) {
    ASSERT_TRUE(p->wait(std::chrono::seconds(5)));
    std::lock_guard lock(p->mu);
    EXPECT_EQ(p->calls, 1);
    EXPECT_EQ(p->reply->kind, net::Reply::Kind::kSend);
  }
  EXPECT_EQ(fetch_waiters(&services).size(), 0u);
}

}  // namespace
}  // namespace samsa::broker
