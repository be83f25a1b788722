// Replication throttles: the token bucket's rate, debt and refill, the
// throttled-replicas lists, and the leader / follower decisions that only
// hold back replicas outside the ISR of listed partitions.
#include "samsa/broker/replica/replication_quota.h"

#include <gtest/gtest.h>

#include "samsa/broker/dynamic_broker_config.h"

namespace samsa::broker::replica {
namespace {

TEST(ReplicationQuota, UnlimitedUntilARateIsSet) {
  int64_t now = 0;
  ReplicationQuota q([&] { return now; });
  EXPECT_FALSE(q.exceeded());
  EXPECT_EQ(q.allowance(), ReplicationQuota::kUnlimited);
  q.record(1 << 30);
  EXPECT_FALSE(q.exceeded());
}

TEST(ReplicationQuota, RefillsAtTheRateAndCarriesDebt) {
  int64_t now = 1000;
  ReplicationQuota q([&] { return now; });
  q.set_rate(1000);
  EXPECT_EQ(q.allowance(), 1000);  // one second's worth to start
  q.record(1500);                  // overshoot: 500 bytes of debt
  EXPECT_TRUE(q.exceeded());
  EXPECT_EQ(q.allowance(), 0);
  now += 400;  // 400 bytes back: still in debt
  EXPECT_TRUE(q.exceeded());
  now += 200;
  EXPECT_FALSE(q.exceeded());
  EXPECT_EQ(q.allowance(), 100);
  now += 60'000;  // never more than a second's worth
  EXPECT_EQ(q.allowance(), 1000);
  q.set_rate(ReplicationQuota::kUnlimited);
  EXPECT_EQ(q.allowance(), ReplicationQuota::kUnlimited);
}

TEST(ReplicationQuota, NamesReplica) {
  EXPECT_TRUE(names_replica("*", 3, 9));
  EXPECT_TRUE(names_replica("0:1, 1:2,2:3", 1, 2));
  EXPECT_FALSE(names_replica("0:1,1:2", 1, 1));
  EXPECT_FALSE(names_replica("", 0, 1));
  EXPECT_FALSE(names_replica("junk,0-1", 0, 1));
}

MetadataImage image_with(const std::string& topic, ConfigMap configs) {
  MetadataImage image;
  auto c = std::make_shared<ConfigsImage>();
  c->resources[ConfigResource{ConfigResourceType::kTopic, topic}] = std::make_shared<const ConfigMap>(configs);
  image.configs = c;
  return image;
}

TEST(ReplicationQuotas, ThrottleOnlyListedPartitionsOutsideTheIsr) {
  int64_t now = 0;
  ReplicationQuotas quotas(2, [&] { return now; });
  MetadataImage image = image_with("t", {{"leader.replication.throttled.replicas", "0:2"},
                                         {"follower.replication.throttled.replicas", "1:2"}});
  // No rate: nothing is throttled whatever the lists say.
  quotas.leader().record(1 << 20);
  EXPECT_FALSE(quotas.leader_should_throttle(image, "t", 0, false));
  EXPECT_EQ(quotas.follower_allowance(image, "t", 1, false), ReplicationQuota::kUnlimited);

  auto r = quotas.reconfigurable();
  r->reconfigure({{"leader.replication.throttled.rate", "100"}, {"follower.replication.throttled.rate", "50"}});
  EXPECT_EQ(quotas.leader().rate(), 100);
  EXPECT_EQ(quotas.follower().rate(), 50);
  EXPECT_FALSE(quotas.leader_should_throttle(image, "t", 0, false));
  quotas.leader().record(200);
  EXPECT_TRUE(quotas.leader_should_throttle(image, "t", 0, false));
  EXPECT_FALSE(quotas.leader_should_throttle(image, "t", 0, true));   // in sync
  EXPECT_FALSE(quotas.leader_should_throttle(image, "t", 1, false));  // not listed
  EXPECT_FALSE(quotas.leader_should_throttle(image, "u", 0, false));

  EXPECT_EQ(quotas.follower_allowance(image, "t", 1, false), 50);
  EXPECT_EQ(quotas.follower_allowance(image, "t", 1, true), ReplicationQuota::kUnlimited);
  EXPECT_EQ(quotas.follower_allowance(image, "t", 0, false), ReplicationQuota::kUnlimited);
  EXPECT_TRUE(r->validate_reconfiguration("leader.replication.throttled.rate", "-1").has_value());
  EXPECT_FALSE(r->validate_reconfiguration("leader.replication.throttled.rate", "1048576").has_value());
  r->reconfigure({{"leader.replication.throttled.rate", std::nullopt},
                  {"follower.replication.throttled.rate", std::nullopt}});
  EXPECT_EQ(quotas.leader().rate(), ReplicationQuota::kUnlimited);
}

TEST(ReplicationQuotas, FollowerFunctionsReadTheIsrFromTheImage) {
  int64_t now = 0;
  ReplicationQuotas quotas(2, [&] { return now; });
  MetadataImage image = image_with("t", {{"follower.replication.throttled.replicas", "*"}});
  auto topics = std::make_shared<TopicsImage>();
  auto topic = std::make_shared<TopicImage>();
  topic->name = "t";
  topic->id = protocol::Uuid::random();
  topic->partitions[0].isr = {1};     // broker 2 is catching up
  topic->partitions[1].isr = {1, 2};  // in sync: never throttled
  topics->by_name["t"] = topic;
  topics->by_id[topic->id] = topic;
  image.topics = topics;
  MetadataCache cache;
  cache.publish(std::make_shared<const MetadataImage>(image));
  quotas.reconfigurable()->reconfigure({{"follower.replication.throttled.rate", "100"}});
  auto allowance = quotas.follower_allowance_fn(cache);
  auto record = quotas.follower_record_fn(cache);
  EXPECT_EQ(allowance("t", 0), 100);
  record("t", 0, 150);
  EXPECT_EQ(allowance("t", 0), 0);
  EXPECT_EQ(allowance("t", 1), ReplicationQuota::kUnlimited);
  record("t", 1, 1000);  // not counted
  now += 1000;
  EXPECT_EQ(allowance("t", 0), 50);
}

}  // namespace
}  // namespace samsa::broker::replica
