// The FaultInjectionEnv itself: what a crash keeps and drops, injected
// errors, and the mount table that routes paths to it.
#include "samsa/util/fault_injection_env.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace samsa::util {
namespace {

struct EnvTest : ::testing::Test {
  EnvTest() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "samsa-env-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
  }
  ~EnvTest() override { std::filesystem::remove_all(dir); }

  static std::span<const uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
  }
  std::string content(const std::string& path) {
    auto v = Env::posix().exists(path) ? read_file(path) : std::vector<uint8_t>{};
    return std::string(v.begin(), v.end());
  }
  void crash_now() {
    env.crash_after(env.op_count());
    env.drop_unsynced_data();
    env.reset();
  }

  std::string dir;
  FaultInjectionEnv env;
};

TEST_F(EnvTest, CrashKeepsSyncedBytesAndDropsTheRest) {
  const std::string path = dir + "/f";
  {
    auto f = env.open_file(path, true);
    env.sync_dir(dir);
    f->write_at(bytes("durable"), 0);
    f->sync();
    f->write_at(bytes("-lost"), 7);
    EXPECT_EQ(f->size(), 12u);
  }
  crash_now();
  EXPECT_EQ(content(path), "durable");
}

TEST_F(EnvTest, NewFileWithoutDirectorySyncDisappears) {
  {
    auto a = env.open_file(dir + "/a", true);
    a->write_at(bytes("x"), 0);
    a->sync();  // the data, not the directory entry
  }
  {
    auto b = env.open_file(dir + "/b", true);
    b->write_at(bytes("y"), 0);
    b->sync();
  }
  env.sync_dir(dir);
  {
    auto c = env.open_file(dir + "/c", true);
    c->sync();
  }
  env.remove_file(dir + "/b");  // unlinks are durable at once
  // a was created before the sync: kept; c after it: gone.
  crash_now();
  EXPECT_EQ(content(dir + "/a"), "x");
  EXPECT_FALSE(Env::posix().exists(dir + "/b"));
  EXPECT_FALSE(Env::posix().exists(dir + "/c"));
}

TEST_F(EnvTest, RenameWithoutDirectorySyncIsUndone) {
  write_file_atomically(dir + "/kept", std::string_view("old"));
  {
    auto f = env.open_file(dir + "/tmp1", true);
    f->write_at(bytes("synced"), 0);
    f->sync();
    env.sync_dir(dir);
  }
  env.rename(dir + "/tmp1", dir + "/moved");
  crash_now();
  EXPECT_EQ(content(dir + "/tmp1"), "synced");
  EXPECT_FALSE(Env::posix().exists(dir + "/moved"));

  env.rename(dir + "/tmp1", dir + "/moved");
  env.sync_dir(dir);
  crash_now();
  EXPECT_EQ(content(dir + "/moved"), "synced");
}

TEST_F(EnvTest, OperationsAfterTheCrashPointFailAndChangeNothing) {
  const std::string path = dir + "/f";
  auto f = env.open_file(path, true);
  env.sync_dir(dir);
  env.crash_after(env.op_count() + 1);
  f->write_at(bytes("one"), 0);  // the last operation before the crash
  EXPECT_THROW(f->sync(), std::system_error);
  EXPECT_THROW(f->write_at(bytes("two"), 3), std::system_error);
  EXPECT_THROW(env.open_file(dir + "/g", true), std::system_error);
  EXPECT_THROW(env.rename(path, dir + "/h"), std::system_error);
  EXPECT_TRUE(env.crashed());
  EXPECT_EQ(content(path), "one");
  EXPECT_FALSE(Env::posix().exists(dir + "/g"));
  env.drop_unsynced_data();
  EXPECT_EQ(content(path), "");  // "one" was never synced
}

TEST_F(EnvTest, InjectedSyncFailureShortWriteAndNoSpace) {
  auto f = env.open_file(dir + "/f", true);
  env.short_write_at(env.op_count() + 1);
  try {
    f->write_at(bytes("abcdefgh"), 0);
    FAIL() << "short write not injected";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EIO);
  }
  EXPECT_EQ(content(dir + "/f"), "abcd");

  env.fail_syncs_from(env.op_count() + 1);
  EXPECT_THROW(f->sync(), std::system_error);
  EXPECT_THROW(f->sync(), std::system_error);  // and every later one
  EXPECT_THROW(env.sync_dir(dir), std::system_error);
  env.reset();
  f->sync();

  env.set_space_limit(5);
  f->write_at(bytes("123"), 4);
  try {
    f->write_at(bytes("4567"), 7);
    FAIL() << "ENOSPC not injected";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOSPC);
  }
  EXPECT_EQ(content(dir + "/f"), "abcd12345");
  EXPECT_THROW(env.open_file(dir + "/g", true), std::system_error);
}

// write_file_atomically crashed at each of its operations leaves the old or
// the new content, never a mix, an empty file or no file.
TEST_F(EnvTest, AtomicWriteSurvivesACrashAtEveryOperation) {
  const std::string path = dir + "/checkpoint";
  Env::mount(dir, &env);
  write_file_atomically(path, std::string_view("version-1"));
  const uint64_t before = env.op_count();
  write_file_atomically(path, std::string_view("version-2 longer"));
  const uint64_t ops = env.op_count() - before;
  EXPECT_GE(ops, 5u);  // create, truncate, write, sync, rename, dir sync
  for (uint64_t k = 0; k <= ops; ++k) {
    write_file_atomically(path, std::string_view("version-1"));
    env.crash_after(env.op_count() + k);
    try {
      write_file_atomically(path, std::string_view("version-2 longer"));
    } catch (const std::system_error&) {
    }
    env.drop_unsynced_data();
    env.reset();
    const std::string got = content(path);
    EXPECT_TRUE(got == "version-1" || got == "version-2 longer") << "crash after op " << k << ": '" << got << "'";
    if (k == ops) {
      EXPECT_EQ(got, "version-2 longer");
    }
  }
  Env::unmount(dir);
}

TEST_F(EnvTest, MountTableRoutesByLongestPathPrefix) {
  FaultInjectionEnv inner;
  Env::mount(dir, &env);
  Env::mount(dir + "/node1", &inner);
  EXPECT_EQ(&Env::for_path(dir + "/x"), &env);
  EXPECT_EQ(&Env::for_path(dir), &env);
  EXPECT_EQ(&Env::for_path(dir + "/node1/topic-0/f"), &inner);
  EXPECT_EQ(&Env::for_path(dir + "/node10/f"), &env);  // whole components only
  EXPECT_EQ(&Env::for_path(dir + "x/f"), &Env::posix());
  Env::unmount(dir + "/node1");
  Env::unmount(dir);
  EXPECT_EQ(&Env::for_path(dir + "/node1/f"), &Env::posix());
  {
    ScopedMount node2(dir + "/node2/", &inner);  // a trailing '/' is the same dir
    EXPECT_EQ(&Env::for_path(dir + "/node2/data/x"), &inner);
  }
  EXPECT_EQ(&Env::for_path(dir + "/node2/data/x"), &Env::posix());
}

}  // namespace
}  // namespace samsa::util
