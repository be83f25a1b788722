// CreateTopics, DeleteTopics, CreatePartitions, DeleteRecords,
// DescribeLogDirs and DescribeTopicPartitions through the dispatcher, at
// every advertised version.
#include "admin_test_fixture.h"
#include "samsa/broker/authorized_operations.h"
#include "samsa/protocol/gen/api_versions_request.h"
#include "samsa/protocol/gen/api_versions_response.h"
#include "samsa/protocol/gen/create_partitions_request.h"
#include "samsa/protocol/gen/create_partitions_response.h"
#include "samsa/protocol/gen/create_topics_request.h"
#include "samsa/protocol/gen/create_topics_response.h"
#include "samsa/protocol/gen/delete_records_request.h"
#include "samsa/protocol/gen/delete_records_response.h"
#include "samsa/protocol/gen/delete_topics_request.h"
#include "samsa/protocol/gen/delete_topics_response.h"
#include "samsa/protocol/gen/describe_log_dirs_request.h"
#include "samsa/protocol/gen/describe_log_dirs_response.h"
#include "samsa/protocol/gen/describe_topic_partitions_request.h"
#include "samsa/protocol/gen/describe_topic_partitions_response.h"
#include "samsa/protocol/record_batch.h"

namespace samsa::broker::test {
namespace {

using protocol::ErrorCode;
namespace p = protocol;

p::CreateTopicsRequest::CreatableTopic new_topic(std::string name, int32_t partitions = -1, int16_t rf = -1,
                                                 std::vector<std::pair<std::string, std::string>> configs = {}) {
  p::CreateTopicsRequest::CreatableTopic t;
  t.name = std::move(name);
  t.num_partitions = partitions;
  t.replication_factor = rf;
  for (auto& [k, v] : configs) {
    p::CreateTopicsRequest::CreatableTopic::CreatableTopicConfig c;
    c.name = k;
    c.value = v;
    t.configs.push_back(c);
  }
  return t;
}

class AdminHandlersTest : public AdminTest {
 protected:
  p::CreateTopicsResponse create(std::vector<p::CreateTopicsRequest::CreatableTopic> topics, int16_t v = 7,
                                 bool validate_only = false) {
    p::CreateTopicsRequest req;
    req.topics = std::move(topics);
    req.validate_only = validate_only;
    return call<p::CreateTopicsResponse>(19, v, req);
  }
  void create_ok(const std::string& name, int32_t partitions) {
    auto resp = create({new_topic(name, partitions, 1)});
    ASSERT_EQ(resp.topics.size(), 1u);
    ASSERT_EQ(resp.topics[0].error_code, 0) << resp.topics[0].error_message.value_or("");
  }
  void produce(const std::string& topic, int32_t partition, int records) {
    auto log = services.replicas->logs().get(topic, partition);
    ASSERT_TRUE(log);
    protocol::RecordBatchBuilder b;
    std::vector<uint8_t> value = {'v'};
    for (int i = 0; i < records; ++i) b.append(1700000000000 + i, std::nullopt, std::span<const uint8_t>(value));
    auto bytes = b.build();
    ASSERT_TRUE(log->append_as_leader(bytes, 0).ok());
    log->set_high_watermark(log->log_end_offset());
  }
};

TEST_F(AdminHandlersTest, ApiVersionsAdvertisesKafka40Ranges) {
  p::ApiVersionsRequest req;
  req.client_software_name = "admin-test";
  req.client_software_version = "1.0";
  auto resp = call<p::ApiVersionsResponse>(18, 3, req);
  EXPECT_EQ(resp.error_code, 0);
  std::map<int16_t, std::pair<int16_t, int16_t>> apis;
  for (const auto& a : resp.api_keys) apis[a.api_key] = {a.min_version, a.max_version};
  using V = std::pair<int16_t, int16_t>;
  EXPECT_EQ(apis[19], V(2, 7));
  EXPECT_EQ(apis[20], V(1, 6));
  EXPECT_EQ(apis[21], V(0, 2));
  EXPECT_EQ(apis[32], V(1, 4));
  EXPECT_EQ(apis[33], V(0, 2));
  EXPECT_EQ(apis[35], V(1, 4));
  EXPECT_EQ(apis[37], V(0, 3));
  EXPECT_EQ(apis[44], V(0, 1));
  EXPECT_EQ(apis[75], V(0, 0));
}

TEST_F(AdminHandlersTest, CreateTopicsAtEveryVersion) {
  for (int16_t v = 2; v <= 7; ++v) {
    std::string name = "topic-v" + std::to_string(v);
    auto resp = create({new_topic(name, 3, 1, {{"retention.ms", "1000"}})}, v);
    ASSERT_EQ(resp.topics.size(), 1u);
    const auto& r = resp.topics[0];
    EXPECT_EQ(r.name, name);
    EXPECT_EQ(r.error_code, 0) << r.error_message.value_or("");
    EXPECT_EQ(r.error_message, std::nullopt);
    const TopicImage* t = image()->topic(name);
    ASSERT_NE(t, nullptr) << "v" << v;
    EXPECT_EQ(t->partitions.size(), 3u);
    EXPECT_EQ(t->partitions.at(0).leader, kNode);
    ASSERT_NE(image()->config(ConfigResourceType::kTopic, name), nullptr);
    EXPECT_EQ(image()->config(ConfigResourceType::kTopic, name)->at("retention.ms"), "1000");
    EXPECT_TRUE(services.replicas->logs().get(name, 2)) << "the logs follow the image";
    if (v >= 5) {
      EXPECT_EQ(r.num_partitions, 3);
      EXPECT_EQ(r.replication_factor, 1);
      ASSERT_TRUE(r.configs.has_value());
      bool found = false;
      for (const auto& c : *r.configs)
        if (c.name == "retention.ms") {
          found = true;
          EXPECT_EQ(c.value, std::optional<std::string>("1000"));
          EXPECT_EQ(c.config_source, 1);  // DYNAMIC_TOPIC_CONFIG
        } else if (c.name == "cleanup.policy") {
          EXPECT_EQ(c.value, std::optional<std::string>("delete"));
          EXPECT_EQ(c.config_source, 5);  // DEFAULT_CONFIG
        }
      EXPECT_TRUE(found);
    }
    if (v >= 7) { EXPECT_EQ(r.topic_id, t->id); }
  }
}

TEST_F(AdminHandlersTest, CreateTopicsDefaultsAndValidateOnly) {
  auto resp = create({new_topic("dflt")}, 7);
  ASSERT_EQ(resp.topics[0].error_code, 0);
  EXPECT_EQ(resp.topics[0].num_partitions, 2) << "num.partitions from server.properties";
  auto dry = create({new_topic("dry", 4, 1)}, 7, true);
  EXPECT_EQ(dry.topics[0].error_code, 0);
  EXPECT_EQ(dry.topics[0].num_partitions, 4);
  EXPECT_EQ(image()->topic("dry"), nullptr) << "validate_only must not create";
}

TEST_F(AdminHandlersTest, CreateTopicsErrors) {
  create_ok("exists", 1);
  auto resp = create({new_topic("exists", 1, 1), new_topic("bad name", 1, 1), new_topic(std::string(250, 'a'), 1, 1),
                      new_topic("..", 1, 1), new_topic("zero", 0, 1), new_topic("rf", 1, 4),
                      new_topic("cfg", 1, 1, {{"retention.ms", "abc"}}), new_topic("unk", 1, 1, {{"no.such", "1"}}),
                      new_topic("dup", 1, 1), new_topic("dup", 1, 1)},
                     6);
  std::map<std::string, int16_t> errors;
  for (const auto& t : resp.topics) {
    errors[t.name] = t.error_code;
    EXPECT_TRUE(t.error_message.has_value()) << t.name;
    EXPECT_EQ(t.num_partitions, -1);
  }
  EXPECT_EQ(resp.topics.size(), 9u) << "one result per distinct name";
  EXPECT_EQ(errors["exists"], code(ErrorCode::TOPIC_ALREADY_EXISTS));
  EXPECT_EQ(errors["bad name"], code(ErrorCode::INVALID_TOPIC_EXCEPTION));
  EXPECT_EQ(errors[std::string(250, 'a')], code(ErrorCode::INVALID_TOPIC_EXCEPTION));
  EXPECT_EQ(errors[".."], code(ErrorCode::INVALID_TOPIC_EXCEPTION));
  EXPECT_EQ(errors["zero"], code(ErrorCode::INVALID_PARTITIONS));
  EXPECT_EQ(errors["rf"], code(ErrorCode::INVALID_REPLICATION_FACTOR));
  EXPECT_EQ(errors["cfg"], code(ErrorCode::INVALID_CONFIG));
  EXPECT_EQ(errors["unk"], code(ErrorCode::INVALID_CONFIG));
  EXPECT_EQ(errors["dup"], code(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(image()->topics->by_name.size(), 1u);
}

TEST_F(AdminHandlersTest, CreateTopicsWhenTheMetadataLogFailsIsRetriable) {
  controller.fail = true;
  auto resp = create({new_topic("t", 1, 1), new_topic("bad name", 1, 1)});
  EXPECT_EQ(resp.topics[0].error_code, code(ErrorCode::REQUEST_TIMED_OUT));
  EXPECT_EQ(resp.topics[1].error_code, code(ErrorCode::INVALID_TOPIC_EXCEPTION));
  EXPECT_EQ(image()->topic("t"), nullptr);
}

TEST_F(AdminHandlersTest, ControllerListenerServesTheControllerApisOnly) {
  conn.listener_name = "CONTROLLER";
  p::CreateTopicsRequest req;
  req.topics.push_back(new_topic("via-controller", 1, 1));
  auto resp = call<p::CreateTopicsResponse>(19, 7, req, ListenerKind::kController);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, 0);
  EXPECT_NE(image()->topic("via-controller"), nullptr);
  p::ApiVersionsRequest av;
  av.client_software_name = "admin-test";
  av.client_software_version = "1.0";
  auto apis = call<p::ApiVersionsResponse>(18, 3, av, ListenerKind::kController);
  std::set<int16_t> keys;
  for (const auto& a : apis.api_keys) keys.insert(a.api_key);
  for (int16_t k : {19, 20, 32, 33, 37, 44}) EXPECT_TRUE(keys.contains(k)) << k;
  for (int16_t k : {21, 35, 75}) EXPECT_FALSE(keys.contains(k)) << k;  // broker-only in Kafka
}

TEST_F(AdminHandlersTest, DeleteTopicsByNameAtEveryVersionAndById) {
  for (int16_t v = 1; v <= 6; ++v) {
    std::string name = "del-" + std::to_string(v);
    create_ok(name, 2);
    p::DeleteTopicsRequest req;
    if (v >= 6) {
      p::DeleteTopicsRequest::DeleteTopicState s;
      s.name = name;
      req.topics.push_back(s);
    } else {
      req.topic_names.push_back(name);
    }
    req.topic_names.push_back("missing");
    if (v >= 6) {
      p::DeleteTopicsRequest::DeleteTopicState s;
      s.name = "missing";
      req.topics.push_back(s);
    }
    auto resp = call<p::DeleteTopicsResponse>(20, v, req);
    ASSERT_EQ(resp.responses.size(), 2u) << "v" << v;
    EXPECT_EQ(resp.responses[0].name, std::optional<std::string>(name));
    EXPECT_EQ(resp.responses[0].error_code, 0);
    EXPECT_EQ(resp.responses[1].error_code, code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
    EXPECT_EQ(image()->topic(name), nullptr);
    EXPECT_FALSE(services.replicas->logs().get(name, 0)) << "the log goes with the topic";
  }
  create_ok("by-id", 1);
  p::Uuid id = image()->topic("by-id")->id;
  p::DeleteTopicsRequest req;
  p::DeleteTopicsRequest::DeleteTopicState s;
  s.topic_id = id;
  req.topics.push_back(s);
  p::DeleteTopicsRequest::DeleteTopicState unknown;
  unknown.topic_id = p::Uuid::random();
  req.topics.push_back(unknown);
  auto resp = call<p::DeleteTopicsResponse>(20, 6, req);
  ASSERT_EQ(resp.responses.size(), 2u);
  EXPECT_EQ(resp.responses[0].name, std::optional<std::string>("by-id"));
  EXPECT_EQ(resp.responses[0].topic_id, id);
  EXPECT_EQ(resp.responses[1].error_code, code(ErrorCode::UNKNOWN_TOPIC_ID));
  EXPECT_EQ(resp.responses[1].name, std::nullopt);
  EXPECT_EQ(image()->topic("by-id"), nullptr);
}

TEST_F(AdminHandlersTest, CreatePartitionsAtEveryVersion) {
  create_ok("grow", 1);
  for (int16_t v = 0; v <= 3; ++v) {
    p::CreatePartitionsRequest req;
    p::CreatePartitionsRequest::CreatePartitionsTopic t;
    t.name = "grow";
    t.count = v + 2;
    t.assignments = std::nullopt;
    req.topics.push_back(t);
    auto resp = call<p::CreatePartitionsResponse>(37, v, req);
    ASSERT_EQ(resp.results.size(), 1u);
    EXPECT_EQ(resp.results[0].error_code, 0) << resp.results[0].error_message.value_or("");
    EXPECT_EQ(image()->topic("grow")->partitions.size(), static_cast<size_t>(v + 2));
  }
  p::CreatePartitionsRequest req;
  p::CreatePartitionsRequest::CreatePartitionsTopic shrink;
  shrink.name = "grow";
  shrink.count = 2;
  shrink.assignments = std::nullopt;
  p::CreatePartitionsRequest::CreatePartitionsTopic missing = shrink;
  missing.name = "missing";
  req.topics = {shrink, missing};
  auto resp = call<p::CreatePartitionsResponse>(37, 3, req);
  EXPECT_EQ(resp.results[0].error_code, code(ErrorCode::INVALID_PARTITIONS));
  EXPECT_EQ(resp.results[1].error_code, code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));

  p::CreatePartitionsRequest dry;
  shrink.count = 10;
  dry.topics = {shrink};
  dry.validate_only = true;
  EXPECT_EQ(call<p::CreatePartitionsResponse>(37, 3, dry).results[0].error_code, 0);
  EXPECT_EQ(image()->topic("grow")->partitions.size(), 5u);
}

TEST_F(AdminHandlersTest, DeleteRecordsMovesTheLowWatermark) {
  create_ok("recs", 2);
  produce("recs", 0, 10);
  for (int16_t v = 0; v <= 2; ++v) {
    p::DeleteRecordsRequest req;
    p::DeleteRecordsRequest::DeleteRecordsTopic t;
    t.name = "recs";
    t.partitions.push_back({0, 2 + v, {}});  // to offset 2, 3, 4
    t.partitions.push_back({1, 5, {}});      // past the (empty) partition's high watermark
    t.partitions.push_back({7, 0, {}});      // no such partition
    req.topics.push_back(t);
    auto resp = call<p::DeleteRecordsResponse>(21, v, req);
    ASSERT_EQ(resp.topics.size(), 1u);
    ASSERT_EQ(resp.topics[0].partitions.size(), 3u);
    EXPECT_EQ(resp.topics[0].partitions[0].error_code, 0);
    EXPECT_EQ(resp.topics[0].partitions[0].low_watermark, 2 + v);
    EXPECT_EQ(resp.topics[0].partitions[1].error_code, code(ErrorCode::OFFSET_OUT_OF_RANGE));
    EXPECT_EQ(resp.topics[0].partitions[1].low_watermark, -1);
    EXPECT_EQ(resp.topics[0].partitions[2].error_code, code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  }
  p::DeleteRecordsRequest hwm;
  p::DeleteRecordsRequest::DeleteRecordsTopic t;
  t.name = "recs";
  t.partitions.push_back({0, -1, {}});
  hwm.topics.push_back(t);
  auto resp = call<p::DeleteRecordsResponse>(21, 2, hwm);
  EXPECT_EQ(resp.topics[0].partitions[0].low_watermark, 10) << "-1 = the high watermark";
  EXPECT_EQ(services.replicas->logs().get("recs", 0)->log_start_offset(), 10);
}

TEST_F(AdminHandlersTest, DeleteRecordsOfACompactedTopicIsAPolicyViolation) {
  auto resp = create({new_topic("compacted", 1, 1, {{"cleanup.policy", "compact"}})});
  ASSERT_EQ(resp.topics[0].error_code, 0);
  p::DeleteRecordsRequest req;
  p::DeleteRecordsRequest::DeleteRecordsTopic t;
  t.name = "compacted";
  t.partitions.push_back({0, 0, {}});
  req.topics.push_back(t);
  EXPECT_EQ(call<p::DeleteRecordsResponse>(21, 2, req).topics[0].partitions[0].error_code,
            code(ErrorCode::POLICY_VIOLATION));
}

TEST_F(AdminHandlersTest, DescribeLogDirsAtEveryVersion) {
  create_ok("dirs", 2);
  create_ok("other", 1);
  produce("dirs", 1, 5);
  for (int16_t v = 1; v <= 4; ++v) {
    p::DescribeLogDirsRequest all;
    all.topics = std::nullopt;
    auto resp = call<p::DescribeLogDirsResponse>(35, v, all);
    ASSERT_EQ(resp.results.size(), 1u);
    const auto& d = resp.results[0];
    EXPECT_EQ(d.error_code, 0);
    EXPECT_EQ(d.log_dir, std::filesystem::absolute(data_dir()).lexically_normal().string());
    ASSERT_EQ(d.topics.size(), 2u);
    EXPECT_EQ(d.topics[0].name, "dirs");
    ASSERT_EQ(d.topics[0].partitions.size(), 2u);
    EXPECT_EQ(d.topics[0].partitions[0].partition_size, 0);
    EXPECT_GT(d.topics[0].partitions[1].partition_size, 0);
    EXPECT_EQ(d.topics[0].partitions[1].offset_lag, 0);
    if (v >= 4) {
      EXPECT_GT(d.total_bytes, 0);
      EXPECT_GE(d.usable_bytes, 0);
    }
    p::DescribeLogDirsRequest some;
    some.topics.emplace();
    some.topics->push_back({"dirs", {1}, {}});
    auto filtered = call<p::DescribeLogDirsResponse>(35, v, some);
    ASSERT_EQ(filtered.results.size(), 1u);
    for (const auto& t : filtered.results[0].topics)
      EXPECT_EQ(t.partitions.size(), t.name == "dirs" ? 1u : 0u) << t.name;
  }
}

TEST_F(AdminHandlersTest, DescribeTopicPartitionsPagesWithACursor) {
  unfence_all();
  create_ok("alpha", 3);
  create_ok("beta", 2);
  p::DescribeTopicPartitionsRequest req;
  req.response_partition_limit = 2;
  auto first = call<p::DescribeTopicPartitionsResponse>(75, 0, req);
  ASSERT_EQ(first.topics.size(), 1u);
  EXPECT_EQ(first.topics[0].name, std::optional<std::string>("alpha"));
  EXPECT_EQ(first.topics[0].partitions.size(), 2u);
  EXPECT_EQ(first.topics[0].topic_id, image()->topic("alpha")->id);
  EXPECT_EQ(first.topics[0].topic_authorized_operations, kTopicOperations);
  ASSERT_TRUE(first.next_cursor.has_value());
  EXPECT_EQ(first.next_cursor->topic_name, "alpha");
  EXPECT_EQ(first.next_cursor->partition_index, 2);

  req.cursor.emplace();
  req.cursor->topic_name = "alpha";
  req.cursor->partition_index = 2;
  auto second = call<p::DescribeTopicPartitionsResponse>(75, 0, req);
  ASSERT_EQ(second.topics.size(), 2u);
  EXPECT_EQ(second.topics[0].partitions.size(), 1u);
  EXPECT_EQ(second.topics[0].partitions[0].partition_index, 2);
  EXPECT_EQ(second.topics[1].name, std::optional<std::string>("beta"));
  EXPECT_EQ(second.topics[1].partitions.size(), 1u);
  ASSERT_TRUE(second.next_cursor.has_value());
  EXPECT_EQ(second.next_cursor->topic_name, "beta");
  EXPECT_EQ(second.next_cursor->partition_index, 1);

  p::DescribeTopicPartitionsRequest named;
  named.topics = {{"beta", {}}, {"nope", {}}, {"bad name", {}}};
  auto resp = call<p::DescribeTopicPartitionsResponse>(75, 0, named);
  ASSERT_EQ(resp.topics.size(), 3u);  // name order
  EXPECT_EQ(resp.topics[0].error_code, code(ErrorCode::INVALID_TOPIC_EXCEPTION));
  EXPECT_EQ(resp.topics[1].name, std::optional<std::string>("beta"));
  ASSERT_EQ(resp.topics[1].partitions.size(), 2u);
  const auto& part = resp.topics[1].partitions[0];
  EXPECT_EQ(part.leader_id, kNode);
  EXPECT_EQ(part.leader_epoch, 0);
  EXPECT_EQ(part.replica_nodes, std::vector<int32_t>{kNode});
  EXPECT_EQ(part.isr_nodes, std::vector<int32_t>{kNode});
  EXPECT_TRUE(part.offline_replicas.empty());
  EXPECT_FALSE(resp.next_cursor.has_value());
  EXPECT_EQ(resp.topics[2].error_code, code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));

  named.cursor.emplace();
  named.cursor->topic_name = "gamma";
  auto bad = call<p::DescribeTopicPartitionsResponse>(75, 0, named);
  ASSERT_EQ(bad.topics.size(), 3u);
  EXPECT_EQ(bad.topics[0].error_code, code(ErrorCode::INVALID_REQUEST));
}

}  // namespace
}  // namespace samsa::broker::test
