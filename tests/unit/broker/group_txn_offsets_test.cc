// Transactional offset commits in the group coordinator, on a real
// ReplicaManager: TxnOffsetCommit writes a transactional batch to
// __consumer_offsets, the offsets stay invisible (UNSTABLE_OFFSET_COMMIT for
// require_stable) until the producer's marker, which the test appends and
// reports as the WriteTxnMarkers handler does (on_txn_marker_written); a
// reload replays commits and markers the same way.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/group/group_coordinator.h"
#include "samsa/broker/replica/replica_manager.h"
#include "samsa/broker/txn/txn_marker_written.h"
#include "samsa/broker/txn/txn_verifier.h"
#include "samsa/protocol/control_records.h"
#include "samsa/protocol/error_code.h"
#include "single_node_env.h"

namespace samsa::broker::group {
namespace {

using protocol::ErrorCode;
namespace fs = std::filesystem;

std::shared_ptr<TopicImage> topic_image(const std::string& name, uint8_t id, int32_t partitions) {
  auto topic = std::make_shared<TopicImage>();
  topic->name = name;
  topic->id.bytes[15] = id;
  for (int32_t p = 0; p < partitions; ++p) {
    PartitionImage pi;
    pi.partition_id = p;
    pi.replicas = {1};
    pi.isr = {1};
    pi.leader = 1;
    topic->partitions.emplace(p, pi);
  }
  return topic;
}

// Answers every verification with `error` and counts the calls.
class FakeVerifier : public txn::TxnVerifier {
 public:
  void verify(txn::TxnVerifyRequest request, std::function<void(std::vector<ErrorCode>)> done) override {
    ++calls;
    last = request;
    if (before_answer) before_answer();
    done(std::vector<ErrorCode>(request.partitions.size(), error));
  }
  std::function<void()> before_answer;  // runs while the verification is in flight
  ErrorCode error = ErrorCode::NONE;
  int calls = 0;
  txn::TxnVerifyRequest last;
};

class GroupTxnOffsetsTest : public ::testing::Test {
 protected:
  GroupTxnOffsetsTest() {
    dir = test_env::fresh_dir("samsa-group-txn");
    config = test_env::single_node_config(dir.string());
    pm = std::make_unique<ReplicaManager>(config, 1);
    pm->startup();
    services.node_id = 1;
    services.config = &config;
    services.replicas = pm.get();
    auto image = std::make_shared<MetadataImage>();
    auto topics = std::make_shared<TopicsImage>();
    for (auto t : {topic_image(kOffsetsTopic, 9, 1), topic_image("events", 7, 2)}) {
      topics->by_name.emplace(t->name, t);
      topics->by_id.emplace(t->id, t);
    }
    image->topics = topics;
    services.metadata.publish(image);
    pm->apply(*image);
    gc.offsets_partitions = 1;
    gc.initial_rebalance_delay_ms = 0;
    coordinator = make_coordinator();
  }
  ~GroupTxnOffsetsTest() override {
    coordinator.reset();
    pm->shutdown();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  std::unique_ptr<GroupCoordinator> make_coordinator() {
    auto c = std::make_unique<GroupCoordinator>(services, gc);
    c->set_clock([this] { return now; });
    c->on_image(*services.metadata.current());
    c->await_loads();
    return c;
  }

  // On one replica a write is acknowledged as it is appended: the answer is
  // there when the call returns.
  std::vector<ErrorCode> txn_commit(int64_t pid, int16_t epoch, int64_t offset, int32_t partition = 0,
                                    const std::string& group = "g") {
    TxnCommitRequest r;
    r.transactional_id = "tx-" + std::to_string(pid);
    r.group_id = group;
    r.producer_id = pid;
    r.producer_epoch = epoch;
    r.partitions.push_back({"events", partition, offset, 2, "m"});
    return txn_commit(std::move(r));
  }
  std::vector<ErrorCode> txn_commit(TxnCommitRequest r) {
    std::optional<std::vector<ErrorCode>> out;
    coordinator->commit_txn_offsets(std::move(r), [&](std::vector<ErrorCode> e) { out = std::move(e); });
    EXPECT_TRUE(out.has_value());
    return out.value_or(std::vector<ErrorCode>{ErrorCode::UNKNOWN_SERVER_ERROR});
  }
  std::vector<ErrorCode> commit(int64_t offset, int32_t partition = 0) {
    CommitRequest r;
    r.group_id = "g";
    r.partitions.push_back({"events", partition, offset, -1, ""});
    std::optional<std::vector<ErrorCode>> out;
    coordinator->commit_offsets(std::move(r), [&](std::vector<ErrorCode> e) { out = std::move(e); });
    EXPECT_TRUE(out.has_value());
    return out.value_or(std::vector<ErrorCode>{ErrorCode::UNKNOWN_SERVER_ERROR});
  }

  // Appends the producer's COMMIT/ABORT marker to __consumer_offsets-0 and,
  // unless `report` is false, tells the coordinator (WriteTxnMarkers does).
  int64_t marker(int64_t pid, int16_t epoch, bool commit, bool report = true) {
    std::optional<int64_t> offset;
    pm->append_records(kOffsetsTopic, 0, protocol::build_end_txn_marker(pid, epoch, {commit, 0}, now), -1,
                       log::AppendOrigin::kCoordinator, 5000,
                       [&](replica::PartitionResult<log::AppendInfo> r) {
                         EXPECT_TRUE(r) << (r ? std::string() : std::string(protocol::error_name(r.error().code)) + " " + r.error().message);
                         if (r) offset = r->first_offset;
                       });
    EXPECT_TRUE(offset.has_value());
    if (report && offset) {
      txn::TxnMarkerWritten m;
      m.topic = kOffsetsTopic;
      m.partition = 0;
      m.producer_id = pid;
      m.producer_epoch = epoch;
      m.commit = commit;
      m.marker_offset = *offset;
      coordinator->on_txn_marker_written(m);
    }
    return offset.value_or(-1);
  }

  FetchedOffset fetch(bool require_stable, int32_t partition = 0, const std::string& group = "g") {
    std::vector<FetchedOffset> out;
    EXPECT_EQ(coordinator->fetch_offsets(group, std::vector<TopicPartitions>{{"events", {partition}}}, out,
                                         require_stable),
              ErrorCode::NONE);
    return out.empty() ? FetchedOffset{"", -1, -2, -1, "", ErrorCode::UNKNOWN_SERVER_ERROR} : out[0];
  }
  int64_t committed(int32_t partition = 0) { return fetch(false, partition).offset; }
  ErrorCode stable_error(int32_t partition = 0) { return fetch(true, partition).error; }

  fs::path dir;
  BrokerConfig config;
  std::unique_ptr<ReplicaManager> pm;
  BrokerServices services;
  CoordinatorConfig gc;
  int64_t now = 1700000000000;
  std::unique_ptr<GroupCoordinator> coordinator;
};

TEST_F(GroupTxnOffsetsTest, OffsetsBecomeVisibleOnlyWithTheCommitMarker) {
  ASSERT_EQ(commit(3), std::vector{ErrorCode::NONE});
  ASSERT_EQ(txn_commit(1000, 0, 10), std::vector{ErrorCode::NONE});
  EXPECT_EQ(committed(), 3);  // the transaction is still open
  EXPECT_EQ(stable_error(), ErrorCode::UNSTABLE_OFFSET_COMMIT);
  EXPECT_EQ(fetch(true).offset, -1);
  EXPECT_EQ(stable_error(1), ErrorCode::NONE);  // other partitions are stable

  // The whole group view with require_stable marks the pending partition.
  std::vector<FetchedOffset> all;
  ASSERT_EQ(coordinator->fetch_offsets("g", std::nullopt, all, true), ErrorCode::NONE);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].error, ErrorCode::UNSTABLE_OFFSET_COMMIT);

  marker(1000, 0, true);
  EXPECT_EQ(committed(), 10);
  auto f = fetch(true);
  EXPECT_EQ(f.error, ErrorCode::NONE);
  EXPECT_EQ(f.offset, 10);
  EXPECT_EQ(f.leader_epoch, 2);
  EXPECT_EQ(f.metadata, "m");
}

TEST_F(GroupTxnOffsetsTest, AbortMarkerDropsTheOffsets) {
  ASSERT_EQ(commit(3), std::vector{ErrorCode::NONE});
  ASSERT_EQ(txn_commit(1000, 0, 10), std::vector{ErrorCode::NONE});
  marker(1000, 0, false);
  EXPECT_EQ(committed(), 3);
  EXPECT_EQ(stable_error(), ErrorCode::NONE);
  // A marker of another producer changes nothing.
  ASSERT_EQ(txn_commit(1001, 0, 20), std::vector{ErrorCode::NONE});
  marker(1000, 0, true);
  EXPECT_EQ(committed(), 3);
  EXPECT_EQ(stable_error(), ErrorCode::UNSTABLE_OFFSET_COMMIT);
  marker(1001, 0, true);
  EXPECT_EQ(committed(), 20);
}

TEST_F(GroupTxnOffsetsTest, ARegularCommitAfterTheTransactionalOneWins) {
  // Kafka keeps the most recent record of the partition when a transaction
  // commits after a plain commit of the same partition was written.
  ASSERT_EQ(txn_commit(1000, 0, 10), std::vector{ErrorCode::NONE});
  ASSERT_EQ(commit(7), std::vector{ErrorCode::NONE});
  marker(1000, 0, true);
  EXPECT_EQ(committed(), 7);
  coordinator = make_coordinator();  // and a reload agrees
  EXPECT_EQ(committed(), 7);
}

TEST_F(GroupTxnOffsetsTest, AReloadReplaysCommitsAbortsAndOpenTransactions) {
  ASSERT_EQ(txn_commit(1, 0, 11, 0), std::vector{ErrorCode::NONE});
  marker(1, 0, true);
  ASSERT_EQ(txn_commit(2, 0, 22, 1), std::vector{ErrorCode::NONE});
  marker(2, 0, false);
  ASSERT_EQ(txn_commit(3, 0, 33, 1), std::vector{ErrorCode::NONE});  // still open
  // A marker appended but reported to nobody (the node lost leadership
  // before WriteTxnMarkers answered): the reload replays it from the log.
  ASSERT_EQ(txn_commit(4, 0, 44, 0, "other"), std::vector{ErrorCode::NONE});
  marker(4, 0, true, /*report=*/false);

  coordinator = make_coordinator();
  EXPECT_EQ(committed(0), 11);
  EXPECT_EQ(committed(1), -1);  // 22 aborted, 33 pending
  EXPECT_EQ(stable_error(1), ErrorCode::UNSTABLE_OFFSET_COMMIT);
  EXPECT_EQ(fetch(true, 0, "other").offset, 44);
  marker(3, 0, true);
  EXPECT_EQ(committed(1), 33);
  EXPECT_EQ(stable_error(1), ErrorCode::NONE);
}

TEST_F(GroupTxnOffsetsTest, MembershipIsCheckedOnlyWhenGiven) {
  // A group with a member (generation 1).
  JoinRequest j;
  j.group_id = "g";
  j.client_id = "c";
  j.client_host = "/127.0.0.1";
  j.session_timeout_ms = 10000;
  j.rebalance_timeout_ms = 30000;
  j.protocol_type = "consumer";
  j.protocols = {{"range", {1}}};
  std::optional<JoinResult> joined;
  coordinator->join(j, [&](JoinResult r) { joined = std::move(r); });
  ASSERT_TRUE(joined.has_value());
  ASSERT_EQ(joined->error, ErrorCode::NONE);
  const std::string member = joined->member_id;
  const int32_t generation = joined->generation_id;

  auto request = [&](int32_t gen, std::string member_id, std::optional<std::string> instance = std::nullopt) {
    TxnCommitRequest r;
    r.transactional_id = "tx";
    r.group_id = "g";
    r.producer_id = 5;
    r.producer_epoch = 0;
    r.generation_id = gen;
    r.member_id = std::move(member_id);
    r.group_instance_id = std::move(instance);
    r.partitions.push_back({"events", 0, 1, -1, std::nullopt});
    return r;
  };
  // v0-2 (no member fields): accepted even by a group with members, and
  // during a rebalance (CompletingRebalance now).
  EXPECT_EQ(txn_commit(request(-1, "")), std::vector{ErrorCode::NONE});
  EXPECT_EQ(txn_commit(request(generation, member)), std::vector{ErrorCode::NONE});
  EXPECT_EQ(txn_commit(request(generation + 1, member)), std::vector{ErrorCode::ILLEGAL_GENERATION});
  EXPECT_EQ(txn_commit(request(generation, "nobody")), std::vector{ErrorCode::UNKNOWN_MEMBER_ID});
  EXPECT_EQ(txn_commit(request(generation, member, "instance")), std::vector{ErrorCode::UNKNOWN_MEMBER_ID});

  TxnCommitRequest missing = request(3, "m");
  missing.group_id = "no-such-group";
  EXPECT_EQ(txn_commit(missing), std::vector{ErrorCode::ILLEGAL_GENERATION});
  TxnCommitRequest empty_id = request(-1, "");
  empty_id.group_id = "";
  EXPECT_EQ(txn_commit(empty_id), std::vector{ErrorCode::INVALID_GROUP_ID});

  TxnCommitRequest mixed = request(-1, "");
  mixed.partitions.push_back({"missing", 0, 1, -1, std::nullopt});
  mixed.partitions.push_back({"events", 9, 1, -1, std::nullopt});
  mixed.partitions.push_back({"events", 1, 1, -1, std::string(5000, 'x')});
  EXPECT_EQ(txn_commit(mixed), (std::vector{ErrorCode::NONE, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                                             ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                                             ErrorCode::OFFSET_METADATA_TOO_LARGE}));
}

TEST_F(GroupTxnOffsetsTest, AnOldProducerEpochIsRefusedByTheLog) {
  ASSERT_EQ(txn_commit(1000, 3, 10), std::vector{ErrorCode::NONE});
  marker(1000, 3, true);
  EXPECT_EQ(txn_commit(1000, 2, 20), std::vector{ErrorCode::INVALID_PRODUCER_EPOCH});
  EXPECT_EQ(committed(), 10);
  EXPECT_EQ(stable_error(), ErrorCode::NONE);
}

TEST_F(GroupTxnOffsetsTest, VerificationAsksTheTransactionCoordinatorFirst) {
  FakeVerifier verifier;
  services.txn_verifier = &verifier;
  verifier.error = ErrorCode::INVALID_TXN_STATE;  // e.g. a commit delayed past EndTxn
  EXPECT_EQ(txn_commit(1000, 0, 10), std::vector{ErrorCode::INVALID_TXN_STATE});
  EXPECT_EQ(verifier.calls, 1);
  EXPECT_EQ(verifier.last.transactional_id, "tx-1000");
  ASSERT_EQ(verifier.last.partitions.size(), 1u);
  EXPECT_EQ(verifier.last.partitions[0], std::make_pair(std::string(kOffsetsTopic), 0));
  EXPECT_EQ(pm->get(kOffsetsTopic, 0)->log()->log_end_offset(), 0);  // nothing written
  EXPECT_EQ(stable_error(), ErrorCode::NONE);

  verifier.error = ErrorCode::NOT_ENOUGH_REPLICAS;  // the coordinator is loading or unreachable
  EXPECT_EQ(txn_commit(1000, 0, 10), std::vector{ErrorCode::COORDINATOR_NOT_AVAILABLE});

  verifier.error = ErrorCode::NONE;
  EXPECT_EQ(txn_commit(1000, 0, 10), std::vector{ErrorCode::NONE});
  EXPECT_EQ(stable_error(), ErrorCode::UNSTABLE_OFFSET_COMMIT);

  // The transaction is open on the partition now: no need to ask again.
  verifier.error = ErrorCode::INVALID_TXN_STATE;
  EXPECT_EQ(txn_commit(1000, 0, 11), std::vector{ErrorCode::NONE});
  EXPECT_EQ(verifier.calls, 3);
  marker(1000, 0, true);
  EXPECT_EQ(committed(), 11);

  config.transaction_partition_verification_enable = false;
  EXPECT_EQ(txn_commit(1000, 0, 12), std::vector{ErrorCode::NONE});
  EXPECT_EQ(verifier.calls, 3);
  services.txn_verifier = nullptr;
}

TEST_F(GroupTxnOffsetsTest, AMarkerDuringVerificationFailsTheWrite) {
  // KIP-890's guard: the transaction the coordinator confirmed ended (its
  // marker was written) while the answer was on its way; the write would
  // open a transaction nobody ends, so the log refuses it.
  FakeVerifier verifier;
  services.txn_verifier = &verifier;
  ASSERT_EQ(txn_commit(1000, 0, 10), std::vector{ErrorCode::NONE});
  marker(1000, 0, true);
  verifier.before_answer = [&] { marker(1000, 0, false); };
  EXPECT_EQ(txn_commit(1000, 0, 20), std::vector{ErrorCode::INVALID_TXN_STATE});
  EXPECT_EQ(committed(), 10);
  EXPECT_EQ(stable_error(), ErrorCode::NONE);
  services.txn_verifier = nullptr;
}

TEST_F(GroupTxnOffsetsTest, DeletingTheGroupDropsPendingOffsets) {
  ASSERT_EQ(txn_commit(1000, 0, 10), std::vector{ErrorCode::NONE});
  std::optional<ErrorCode> deleted;
  coordinator->delete_group("g", [&](ErrorCode e) { deleted = e; });
  ASSERT_EQ(deleted, ErrorCode::NONE);
  marker(1000, 0, true);
  EXPECT_EQ(committed(), -1);
  EXPECT_EQ(stable_error(), ErrorCode::NONE);
  coordinator = make_coordinator();
  EXPECT_EQ(committed(), -1);
}

TEST_F(GroupTxnOffsetsTest, DeletingTheTopicDropsItsPendingOffsets) {
  ASSERT_EQ(txn_commit(1000, 0, 10), std::vector{ErrorCode::NONE});
  auto image = std::make_shared<MetadataImage>(*services.metadata.current());
  auto topics = std::make_shared<TopicsImage>(*image->topics);
  auto events = topics->by_name.at("events");
  topics->by_name.erase("events");
  topics->by_id.erase(events->id);
  image->topics = topics;
  coordinator->on_image(*image);
  EXPECT_EQ(stable_error(), ErrorCode::NONE);
  marker(1000, 0, true);
  EXPECT_EQ(committed(), -1);
  coordinator = make_coordinator();
  EXPECT_EQ(committed(), -1) << "the tombstone was written";
}

TEST_F(GroupTxnOffsetsTest, PendingOffsetsKeepOffsetsAndTheGroupFromExpiring) {
  gc.retention_check_interval_ms = 1;
  gc.offsets_retention_ms = 1000;
  coordinator = make_coordinator();
  ASSERT_EQ(commit(3, 0), std::vector{ErrorCode::NONE});
  ASSERT_EQ(commit(4, 1), std::vector{ErrorCode::NONE});
  ASSERT_EQ(txn_commit(1000, 0, 10, 0), std::vector{ErrorCode::NONE});
  now += 10'000;
  coordinator->tick();
  EXPECT_EQ(committed(0), 3);   // a transaction is about to replace it
  EXPECT_EQ(committed(1), -1);  // expired
  marker(1000, 0, true);
  EXPECT_EQ(committed(0), 10);
}

}  // namespace
}  // namespace samsa::broker::group
