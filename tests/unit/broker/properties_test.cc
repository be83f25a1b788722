#include "samsa/broker/properties.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace samsa::broker {
namespace {

std::string value_of(const Properties& p, std::string_view key) {
  auto v = p.get(key);
  EXPECT_TRUE(v.has_value()) << "missing key " << key;
  return v ? std::string(*v) : std::string();
}

TEST(PropertiesTest, Separators) {
  auto p = Properties::parse(
      "a=1\n"
      "b:2\n"
      "c 3\n"
      "d   =   4\n"
      "e\t:\t5\n"
      "f = = 6\n"
      "g  h i\n"
      "j=k=l\n",
      "t.properties");
  EXPECT_EQ(value_of(p, "a"), "1");
  EXPECT_EQ(value_of(p, "b"), "2");
  EXPECT_EQ(value_of(p, "c"), "3");
  EXPECT_EQ(value_of(p, "d"), "4");
  EXPECT_EQ(value_of(p, "e"), "5");
  EXPECT_EQ(value_of(p, "f"), "= 6");  // only one separator is consumed
  EXPECT_EQ(value_of(p, "g"), "h i");
  EXPECT_EQ(value_of(p, "j"), "k=l");
}

TEST(PropertiesTest, TrailingWhitespaceIsKeptAndKeyWithoutValueIsEmpty) {
  auto p = Properties::parse("a=1  \nalone\nspaced   \nempty=\n", "t");
  EXPECT_EQ(value_of(p, "a"), "1  ");
  EXPECT_EQ(value_of(p, "alone"), "");
  EXPECT_EQ(value_of(p, "spaced"), "");
  EXPECT_EQ(value_of(p, "empty"), "");
}

TEST(PropertiesTest, CommentsAndBlankLines) {
  auto p = Properties::parse(
      "# comment\n"
      "   ! bang comment\n"
      "\n"
      "   \t \n"
      "a=1 # not a comment\n"
      "#b=2\n",
      "t");
  EXPECT_EQ(p.keys(), std::vector<std::string>{"a"});
  EXPECT_EQ(value_of(p, "a"), "1 # not a comment");
}

TEST(PropertiesTest, CommentDoesNotContinue) {
  auto p = Properties::parse("# comment \\\na=1\n", "t");
  EXPECT_EQ(value_of(p, "a"), "1");
}

TEST(PropertiesTest, Continuations) {
  auto p = Properties::parse(
      "list=a,\\\n"
      "     b,\\\n"
      "\t c\n"
      "even=x\\\\\n"
      "next=y\n"
      "odd=z\\\\\\\n"
      "  tail\n"
      "hash=1\\\n"
      "#2\n",
      "t");
  EXPECT_EQ(value_of(p, "list"), "a,b,c");
  EXPECT_EQ(value_of(p, "even"), "x\\");
  EXPECT_EQ(value_of(p, "next"), "y");
  EXPECT_EQ(value_of(p, "odd"), "z\\tail");
  EXPECT_EQ(value_of(p, "hash"), "1#2");  // a continuation line is never a comment
}

TEST(PropertiesTest, ContinuationIntoBlankLineEndsTheValue) {
  auto p = Properties::parse("a=1\\\n   \nb=2\n", "t");
  EXPECT_EQ(value_of(p, "a"), "1");
  EXPECT_EQ(value_of(p, "b"), "2");
}

TEST(PropertiesTest, BackslashAtEndOfInputIsDropped) {
  auto p = Properties::parse("a=1\\", "t");
  EXPECT_EQ(value_of(p, "a"), "1");
}

TEST(PropertiesTest, LineTerminators) {
  auto p = Properties::parse("a=1\r\nb=2\rc=3\nd=4\\\r\n  5", "t");
  EXPECT_EQ(value_of(p, "a"), "1");
  EXPECT_EQ(value_of(p, "b"), "2");
  EXPECT_EQ(value_of(p, "c"), "3");
  EXPECT_EQ(value_of(p, "d"), "45");
  EXPECT_EQ(p.origin("c")->line, 3);
  EXPECT_EQ(p.origin("d")->line, 4);
}

TEST(PropertiesTest, Escapes) {
  auto p = Properties::parse(
      "tabs=a\\tb\\nc\\rd\\fe\n"
      "key\\=with\\:seps\\ and\\ space=v\n"
      "slash=c:\\\\dir\n"
      "other=\\q\\z\\#\n"
      "uni=\\u0041\\u00e9\\u20AC\n"
      "pair=\\uD83D\\uDE00\n"
      "lone=\\uD83D\n"
      "lead=\\ \\ x\n",
      "t");
  EXPECT_EQ(value_of(p, "tabs"), "a\tb\nc\rd\fe");
  EXPECT_EQ(value_of(p, "key=with:seps and space"), "v");
  EXPECT_EQ(value_of(p, "slash"), "c:\\dir");
  EXPECT_EQ(value_of(p, "other"), "qz#");
  EXPECT_EQ(value_of(p, "uni"), "A\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(value_of(p, "pair"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(value_of(p, "lone"), "\xEF\xBF\xBD");
  EXPECT_EQ(value_of(p, "lead"), "  x");
}

TEST(PropertiesTest, MalformedUnicodeEscapeNamesTheLine) {
  try {
    Properties::parse("a=1\nb=\\u12G4\n", "bad.properties");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.properties line 2"), std::string::npos) << e.what();
  }
}

TEST(PropertiesTest, Utf8PassesThrough) {
  auto p = Properties::parse("name=caf\xC3\xA9\n", "t");
  EXPECT_EQ(value_of(p, "name"), "caf\xC3\xA9");
}

TEST(PropertiesTest, DuplicatesOverrideButKeepFirstPosition) {
  auto p = Properties::parse("a=1\nb=2\na=3\n", "f.properties");
  EXPECT_EQ(value_of(p, "a"), "3");
  EXPECT_EQ(p.keys(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p.origin("a")->line, 3);
  EXPECT_EQ(p.origin("a")->file, "f.properties");
}

TEST(PropertiesTest, LineNumbersPointAtTheStartOfTheLogicalLine) {
  auto p = Properties::parse("# header\n\nfirst=1\nmulti=a,\\\n  b\nlast=2\n", "s.properties");
  EXPECT_EQ(p.origin("first")->line, 3);
  EXPECT_EQ(p.origin("multi")->line, 4);
  EXPECT_EQ(p.origin("last")->line, 6);
  EXPECT_EQ(describe_origin(*p.origin("last")), "s.properties line 6");
  EXPECT_EQ(p.origin("missing"), nullptr);
  EXPECT_FALSE(p.get("missing").has_value());
}

TEST(PropertiesTest, Overrides) {
  auto p = Properties::parse("a=1\nb=2\n", "f");
  p.apply_override("a=10");
  p.apply_override("c=x=y");
  EXPECT_EQ(value_of(p, "a"), "10");
  EXPECT_EQ(value_of(p, "c"), "x=y");
  EXPECT_EQ(p.origin("a")->file, "--override");
  EXPECT_EQ(p.origin("a")->line, 0);
  EXPECT_EQ(describe_origin(*p.origin("a")), "--override");
  EXPECT_EQ(p.keys(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_THROW(p.apply_override("novalue"), ConfigError);
  EXPECT_THROW(p.apply_override("k="), ConfigError);
  EXPECT_THROW(p.apply_override("=v"), ConfigError);
}

TEST(PropertiesTest, LoadFile) {
  auto path = std::filesystem::temp_directory_path() / "samsa_properties_test.properties";
  {
    std::ofstream out(path);
    out << "x=1\ny = 2\n";
  }
  auto p = Properties::load_file(path.string());
  EXPECT_EQ(value_of(p, "y"), "2");
  EXPECT_EQ(p.origin("y")->file, path.string());
  EXPECT_EQ(p.origin("y")->line, 2);
  std::filesystem::remove(path);
}

TEST(PropertiesTest, LoadFileErrorsNameThePath) {
  const std::string missing = "/nonexistent/samsa/server.properties";
  try {
    Properties::load_file(missing);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  const std::string dir = std::filesystem::temp_directory_path().string();
  try {
    Properties::load_file(dir);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(dir), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace samsa::broker
