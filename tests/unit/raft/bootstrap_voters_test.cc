#include "samsa/raft/bootstrap_voters.h"

#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include <gtest/gtest.h>

#include "samsa/protocol/record_batch.h"
#include "samsa/raft/snapshot_file.h"
#include "samsa/util/file_util.h"

namespace samsa::raft {
namespace {

namespace fs = std::filesystem;

class BootstrapVotersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("samsa-bootstrap-voters-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
};

const char* kThree =
    "0@localhost:8082:JEXY6aqzQY-32P5TStzaFg,1@localhost:8083:MvDxzVmcRsaTz33bUuRU6A,"
    "2@[::1]:8084:07R5amHmR32VDA6jHkGbTA";

TEST(ParseInitialControllersTest, ParsesKafkasSyntaxIncludingIpv6) {
  auto voters = parse_initial_controllers(kThree, "CONTROLLER");
  ASSERT_EQ(voters.size(), 3u);
  EXPECT_EQ(voters[0].id, 0);
  EXPECT_EQ(voters[0].directory_id.to_string(), "JEXY6aqzQY-32P5TStzaFg");
  EXPECT_EQ(voters[0].endpoints, (std::vector<VoterEndpoint>{{"CONTROLLER", "localhost", 8082}}));
  EXPECT_EQ(voters[2].endpoints[0].host, "::1");
  EXPECT_EQ(voters[2].endpoints[0].port, 8084);
}

TEST(ParseInitialControllersTest, RefusesMalformedAndDuplicateEntries) {
  for (const char* bad : {"", "0@localhost:8082", "x@localhost:8082:JEXY6aqzQY-32P5TStzaFg",
                          "-1@localhost:8082:JEXY6aqzQY-32P5TStzaFg", "0localhost:8082:JEXY6aqzQY-32P5TStzaFg",
                          "0@localhost:99999:JEXY6aqzQY-32P5TStzaFg", "0@:8082:JEXY6aqzQY-32P5TStzaFg",
                          "0@localhost:8082:not-a-uuid", "0@[::1:8082:JEXY6aqzQY-32P5TStzaFg",
                          "0@localhost:8082:JEXY6aqzQY-32P5TStzaFg,",
                          // the same node twice, the same directory twice
                          "0@a:1:JEXY6aqzQY-32P5TStzaFg,0@b:2:MvDxzVmcRsaTz33bUuRU6A",
                          "0@a:1:JEXY6aqzQY-32P5TStzaFg,1@b:2:JEXY6aqzQY-32P5TStzaFg"}) {
    EXPECT_THROW(parse_initial_controllers(bad, "CONTROLLER"), std::invalid_argument) << bad;
  }
}

TEST_F(BootstrapVotersTest, AbsentWhenNotFormattedWithVoters) {
  EXPECT_FALSE(read_bootstrap_voters(dir.string()).has_value());
}

TEST_F(BootstrapVotersTest, RoundTripsTheVoterSet) {
  BootstrapVoters voters;
  voters.kraft_version = 1;
  voters.voters = parse_initial_controllers(kThree, "CONTROLLER");
  write_bootstrap_voters(dir.string(), voters);
  EXPECT_EQ(bootstrap_voters_path(dir.string()),
            (dir / "__cluster_metadata-0" / "00000000000000000000-0000000000.checkpoint").string());
  auto read = read_bootstrap_voters(dir.string());
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(*read, voters);
}

// Kafka's layout: a control batch with SnapshotHeader, KRaftVersion and
// Voters records (types 3, 5, 6), then a control batch with the footer (4).
// The generic snapshot reader accepts it and finds no metadata records.
TEST_F(BootstrapVotersTest, IsAControlOnlySnapshotInKafkasLayout) {
  BootstrapVoters voters;
  voters.voters = parse_initial_controllers("5@h:9093:JEXY6aqzQY-32P5TStzaFg", "CONTROLLER");
  write_bootstrap_voters(dir.string(), voters);
  auto bytes = util::read_file(bootstrap_voters_path(dir.string()));
  auto split = protocol::split_batches(bytes, true);
  ASSERT_EQ(split.batches.size(), 2u);
  std::vector<int16_t> types;
  for (const auto& batch : split.batches) {
    EXPECT_TRUE(batch.header.is_control());
    EXPECT_TRUE(protocol::verify_crc(batch.bytes));
    for (const auto& record : protocol::decode_records(batch)) {
      ASSERT_TRUE(record.key && record.key->size() == 4);
      types.push_back(static_cast<int16_t>(((*record.key)[2] << 8) | (*record.key)[3]));
    }
  }
  EXPECT_EQ(types, (std::vector<int16_t>{3, 5, 6, 4}));
  int data_batches = 0;
  read_snapshot_file(bootstrap_voters_path(dir.string()), [&](const protocol::BatchView&) { ++data_batches; });
  EXPECT_EQ(data_batches, 0);
}

TEST_F(BootstrapVotersTest, ATornFileIsReportedAsCorrupt) {
  BootstrapVoters voters;
  voters.voters = parse_initial_controllers("5@h:9093:JEXY6aqzQY-32P5TStzaFg", "CONTROLLER");
  write_bootstrap_voters(dir.string(), voters);
  auto bytes = util::read_file(bootstrap_voters_path(dir.string()));
  bytes.resize(bytes.size() - 10);
  util::write_file_atomically(bootstrap_voters_path(dir.string()), bytes);
  EXPECT_THROW(read_bootstrap_voters(dir.string()), std::runtime_error);
}

}  // namespace
}  // namespace samsa::raft
