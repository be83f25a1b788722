#include "samsa/util/turn_scope.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace samsa::util {
namespace {

TEST(TurnScopeTest, RunsDeferredWorkInOrderAtTheEnd) {
  std::vector<std::string> seen;
  EXPECT_FALSE(TurnScope::active());
  {
    TurnScope turn;
    EXPECT_TRUE(TurnScope::active());
    TurnScope::defer([&] {
      seen.push_back("a");
      TurnScope::defer([&] { seen.push_back("c"); });  // deferred while finishing: runs too
    });
    TurnScope::defer([&] { seen.push_back("b"); });
    EXPECT_TRUE(seen.empty());
    turn.finish();
    EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
  }
  EXPECT_FALSE(TurnScope::active());
}

TEST(TurnScopeTest, NestedScopesRunTheirOwnWork) {
  std::vector<std::string> seen;
  {
    TurnScope outer;
    TurnScope::defer([&] { seen.push_back("outer"); });
    {
      TurnScope inner;
      TurnScope::defer([&] { seen.push_back("inner"); });
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"inner"}));
    TurnScope::defer([&] { seen.push_back("outer2"); });
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"inner", "outer", "outer2"}));
}

}  // namespace
}  // namespace samsa::util
