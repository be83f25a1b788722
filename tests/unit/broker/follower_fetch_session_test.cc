// The replica fetcher's side of KIP-227 fetch sessions.
#include "../../../src/broker/replica/follower_fetch_session.h"

#include <gtest/gtest.h>

#include "samsa/protocol/error_code.h"

namespace samsa::broker::replica {
namespace {

using protocol::ErrorCode;
using protocol::FetchRequest;
using protocol::FetchResponse;

const protocol::Uuid kA{{1}};
const protocol::Uuid kB{{2}};

FollowerFetchSession::PartitionFetch part(const protocol::Uuid& id, int32_t p, int64_t offset) {
  FollowerFetchSession::PartitionFetch f;
  f.topic = id == kA ? "a" : "b";
  f.topic_id = id;
  f.fields.partition = p;
  f.fields.fetch_offset = offset;
  f.fields.current_leader_epoch = 3;
  f.fields.log_start_offset = 0;
  f.fields.partition_max_bytes = 1 << 20;
  return f;
}

std::vector<std::pair<int, int64_t>> listed(const FetchRequest& r) {
  std::vector<std::pair<int, int64_t>> out;
  for (const auto& t : r.topics)
    for (const auto& p : t.partitions) out.emplace_back((t.topic_id == kA ? 100 : 200) + p.partition, p.fetch_offset);
  return out;
}

FetchResponse answer(int32_t session_id, ErrorCode error = ErrorCode::NONE) {
  FetchResponse r;
  r.session_id = session_id;
  r.error_code = protocol::code(error);
  return r;
}

TEST(FollowerFetchSessionTest, FullFetchOpensTheSessionThenOnlyChangesAreSent) {
  FollowerFetchSession s;
  FetchRequest req;
  s.build({part(kA, 0, 10), part(kA, 1, 20), part(kB, 0, 5)}, req);
  EXPECT_EQ(req.session_id, 0);
  EXPECT_EQ(req.session_epoch, 0);  // full, opening a session
  EXPECT_EQ(listed(req), (std::vector<std::pair<int, int64_t>>{{100, 10}, {101, 20}, {200, 5}}));
  ASSERT_TRUE(s.on_response(answer(77)));
  EXPECT_TRUE(s.incremental());

  // Nothing changed: an incremental fetch with no partitions.
  s.build({part(kA, 0, 10), part(kA, 1, 20), part(kB, 0, 5)}, req);
  EXPECT_EQ(req.session_id, 77);
  EXPECT_EQ(req.session_epoch, 1);
  EXPECT_TRUE(req.topics.empty());
  EXPECT_TRUE(req.forgotten_topics_data.empty());
  ASSERT_TRUE(s.on_response(answer(77)));

  // a-1 moved on, b-0 is no longer fetched (backing off or removed).
  s.build({part(kA, 0, 10), part(kA, 1, 25)}, req);
  EXPECT_EQ(req.session_epoch, 2);
  EXPECT_EQ(listed(req), (std::vector<std::pair<int, int64_t>>{{101, 25}}));
  ASSERT_EQ(req.forgotten_topics_data.size(), 1u);
  EXPECT_EQ(req.forgotten_topics_data[0].topic_id, kB);
  EXPECT_EQ(req.forgotten_topics_data[0].partitions, std::vector<int32_t>{0});
  ASSERT_TRUE(s.on_response(answer(77)));

  // b-0 comes back: sent again as new.
  s.build({part(kA, 0, 10), part(kA, 1, 25), part(kB, 0, 5)}, req);
  EXPECT_EQ(req.session_epoch, 3);
  EXPECT_EQ(listed(req), (std::vector<std::pair<int, int64_t>>{{200, 5}}));
  EXPECT_TRUE(req.forgotten_topics_data.empty());
}

TEST(FollowerFetchSessionTest, SessionErrorsAndFailuresFallBackToAFullFetch) {
  FollowerFetchSession s;
  FetchRequest req;
  s.build({part(kA, 0, 10)}, req);
  ASSERT_TRUE(s.on_response(answer(9)));
  s.build({part(kA, 0, 10)}, req);
  EXPECT_EQ(req.session_epoch, 1);
  // The leader restarted: the session is gone.
  EXPECT_FALSE(s.on_response(answer(0, ErrorCode::FETCH_SESSION_ID_NOT_FOUND)));
  s.build({part(kA, 0, 10)}, req);
  EXPECT_EQ(req.session_epoch, 0);
  EXPECT_EQ(listed(req).size(), 1u);  // every partition again
  ASSERT_TRUE(s.on_response(answer(12)));
  EXPECT_EQ(s.session_id(), 12);

  s.build({part(kA, 0, 11)}, req);
  EXPECT_FALSE(s.on_response(answer(0, ErrorCode::INVALID_FETCH_SESSION_EPOCH)));
  s.build({part(kA, 0, 11)}, req);
  EXPECT_EQ(req.session_id, 12);  // names the old one with epoch 0: closes it at the leader
  EXPECT_EQ(req.session_epoch, 0);
  ASSERT_TRUE(s.on_response(answer(13)));

  // No answer at all (connection lost): full again.
  s.build({part(kA, 0, 11)}, req);
  EXPECT_EQ(req.session_epoch, 1);
  s.on_failure();
  s.build({part(kA, 0, 11)}, req);
  EXPECT_EQ(req.session_epoch, 0);
  EXPECT_EQ(listed(req).size(), 1u);
}

TEST(FollowerFetchSessionTest, LeaderWithoutRoomKeepsFetchingInFull) {
  FollowerFetchSession s;
  FetchRequest req;
  s.build({part(kA, 0, 10)}, req);
  ASSERT_TRUE(s.on_response(answer(0)));  // no session granted (cache full)
  EXPECT_FALSE(s.incremental());
  s.build({part(kA, 0, 10)}, req);
  EXPECT_EQ(req.session_id, 0);
  EXPECT_EQ(req.session_epoch, 0);
  EXPECT_EQ(listed(req).size(), 1u);
}

TEST(FollowerFetchSessionTest, ChangedEpochOrLogStartIsSentAgain) {
  FollowerFetchSession s;
  FetchRequest req;
  s.build({part(kA, 0, 10)}, req);
  ASSERT_TRUE(s.on_response(answer(5)));
  auto p = part(kA, 0, 10);
  p.fields.log_start_offset = 4;
  s.build({p}, req);
  EXPECT_EQ(listed(req).size(), 1u);
  ASSERT_TRUE(s.on_response(answer(5)));
  p.fields.current_leader_epoch = 4;
  s.build({p}, req);
  EXPECT_EQ(listed(req).size(), 1u);
  ASSERT_TRUE(s.on_response(answer(5)));
  s.build({p}, req);
  EXPECT_TRUE(req.topics.empty());
}

}  // namespace
}  // namespace samsa::broker::replica
