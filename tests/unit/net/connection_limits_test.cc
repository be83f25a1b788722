// ConnectionLimits and the parsing of max.connections.per.ip.overrides.
#include "samsa/net/connection_limits.h"

#include <gtest/gtest.h>

namespace samsa::net {
namespace {

TEST(IpOverrides, ParsesHostCountPairs) {
  std::string error;
  auto o = parse_ip_overrides(" 127.0.0.1:5, 10.0.0.2:0 ,[::1]:7", &error);
  ASSERT_TRUE(o) << error;
  EXPECT_EQ(o->by_address.at("127.0.0.1"), 5);
  EXPECT_EQ(o->by_address.at("10.0.0.2"), 0);
  EXPECT_EQ(o->by_address.at("::1"), 7);
  EXPECT_TRUE(parse_ip_overrides("", &error)->by_address.empty());
}

TEST(IpOverrides, NamesResolveToTheirAddresses) {
  std::string error;
  auto o = parse_ip_overrides("localhost:3", &error);
  ASSERT_TRUE(o) << error;
  EXPECT_EQ(o->by_address.at("127.0.0.1"), 3);
}

TEST(IpOverrides, RejectsMalformedEntries) {
  std::string error;
  EXPECT_FALSE(parse_ip_overrides("127.0.0.1", &error));
  EXPECT_NE(error.find("host:count"), std::string::npos);
  EXPECT_FALSE(parse_ip_overrides("127.0.0.1:many", &error));
  EXPECT_FALSE(parse_ip_overrides("127.0.0.1:-1", &error));
  EXPECT_FALSE(parse_ip_overrides("no-such-host.invalid:2", &error));
}

TEST(ConnectionLimits, OverrideElseDefault) {
  ConnectionLimits limits;
  EXPECT_EQ(limits.limit_for("127.0.0.1"), ConnectionLimits::kUnlimited);
  limits.set_max_connections_per_ip(4);
  ASSERT_TRUE(limits.set_max_connections_per_ip_overrides("127.0.0.2:9"));
  EXPECT_EQ(limits.limit_for("127.0.0.1"), 4);
  EXPECT_EQ(limits.limit_for("127.0.0.2"), 9);
  std::string error;
  EXPECT_FALSE(limits.set_max_connections_per_ip_overrides("bad", &error));
  EXPECT_EQ(limits.limit_for("127.0.0.2"), 9);  // a bad update keeps the old overrides
}

}  // namespace
}  // namespace samsa::net
