// KIP-392 RackAwareReplicaSelector: a follower in the consumer's rack is
// preferred unless the leader is there; ties go to the highest log end,
// then the most recently caught up; no rack means the leader.
#include "samsa/broker/replica/replica_selector.h"

#include <gtest/gtest.h>

namespace samsa::broker::replica {
namespace {

TEST(RackAwareReplicaSelector, PrefersAFollowerInTheClientRack) {
  ReplicaView leader{1, "r1", 100, 0};
  std::vector<ReplicaView> followers = {{2, "r2", 90, 50}, {3, "r2", 100, 900}, {4, "r3", 100, 0}, {5, {}, 100, 0}};
  EXPECT_EQ(select_rack_aware("r2", leader, followers), 3);  // highest log end in r2
  EXPECT_EQ(select_rack_aware("r3", leader, followers), 4);
  EXPECT_EQ(select_rack_aware("r1", leader, followers), -1);  // the leader is in the rack
  EXPECT_EQ(select_rack_aware("r9", leader, followers), -1);  // nobody there
  EXPECT_EQ(select_rack_aware("", leader, followers), -1);
  followers[0].log_end_offset = 100;
  followers[0].ms_since_caught_up = 10;
  EXPECT_EQ(select_rack_aware("r2", leader, followers), 2);  // tie: caught up more recently
}

}  // namespace
}  // namespace samsa::broker::replica
