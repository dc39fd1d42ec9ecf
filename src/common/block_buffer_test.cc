// BlockBuffer: what its producers rely on — an uninitialised buffer keeps exactly the bytes
// written into it, adopting a string and trimming move no byte (the data pointer stays), a
// growing buffer keeps its contents, a move leaves an empty buffer, and a read error of the
// Env filling it reaches the caller.
#include "common/block_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "common/faulty_env.h"
#include "common/mem_env.h"

namespace strata {
namespace {

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i++) s[i] = static_cast<char>(i * 7 + seed + i / 251);
  return s;
}

TEST(BlockBuffer, EmptyByDefault) {
  BlockBuffer b;
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.size(), 0u);
  EXPECT_NE(b.data(), nullptr);  // a valid pointer even when empty (writev, memcpy)
  EXPECT_EQ(b.view(), "");
  EXPECT_TRUE(BlockBuffer::Uninitialized(0).empty());
}

TEST(BlockBuffer, UninitializedKeepsWhatTheProducerWrote) {
  const std::string want = Pattern(4 << 20, 3);
  BlockBuffer b = BlockBuffer::Uninitialized(want.size() + 100);
  EXPECT_EQ(b.size(), want.size() + 100);
  EXPECT_GE(b.capacity(), b.size());
  std::memcpy(b.mutable_data(), want.data(), want.size());  // the producer wrote less
  const char* at = b.data();
  b.Shrink(want.size());    // so only what it wrote is kept
  EXPECT_EQ(b.data(), at);  // nothing moved
  EXPECT_EQ(b.size(), want.size());
  EXPECT_TRUE(b == want);
  SharedBlock shared = BlockBuffer::Share(std::move(b));
  EXPECT_EQ(shared->data(), at);  // publishing moves no byte either
  EXPECT_TRUE(*shared == want);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
}

TEST(BlockBuffer, AdoptTakesTheStringsStorage) {
  std::string s = Pattern(1 << 20, 9);
  const std::string copy = s;
  const char* at = s.data();
  BlockBuffer b = BlockBuffer::Adopt(std::move(s));
  EXPECT_EQ(b.data(), at);  // no copy
  EXPECT_TRUE(b == copy);
  // A short string (kept inside the std::string object) survives moves of the buffer.
  BlockBuffer small = BlockBuffer::Adopt("tiny");
  BlockBuffer moved = std::move(small);
  EXPECT_EQ(moved, "tiny");
  EXPECT_TRUE(small.empty());  // NOLINT(bugprone-use-after-move)
  moved.Append("!");
  EXPECT_EQ(moved.view(), "tiny!");
}

TEST(BlockBuffer, NarrowTrimsBothEndsInPlace) {
  for (bool adopted : {false, true}) {
    const std::string s = Pattern(100000, 1);
    BlockBuffer b = adopted ? BlockBuffer::Adopt(s) : BlockBuffer::Copy(s);
    const char* at = b.data();
    b.Narrow(22, s.size() - 22 - 4);  // a header and a trailer, as a staged block file has
    EXPECT_EQ(b.data(), at + 22) << adopted;
    EXPECT_TRUE(b == std::string_view(s).substr(22, s.size() - 26)) << adopted;
    b.Shrink(10);
    EXPECT_EQ(b.view(), std::string_view(s).substr(22, 10)) << adopted;
    b.Narrow(10, 0);
    EXPECT_TRUE(b.empty()) << adopted;
  }
}

TEST(BlockBuffer, AppendGrowsAndKeepsTheContents) {
  BlockBuffer b = BlockBuffer::WithCapacity(8);
  EXPECT_TRUE(b.empty());
  EXPECT_GE(b.capacity(), 8u);
  const char* at = b.data();
  b.Append("abcd");
  b.Append("efgh");
  EXPECT_EQ(b.data(), at);  // within capacity: no reallocation
  std::string want = "abcdefgh";
  for (int i = 0; i < 200; i++) {  // growth by doubling, a copy each time
    std::string piece = Pattern(1 + i * 37, i);
    b.Append(piece);
    want += piece;
  }
  EXPECT_TRUE(b == want);
  EXPECT_GE(b.capacity(), b.size());
  b.Reserve(b.size() + (1 << 20));
  EXPECT_GE(b.capacity(), b.size() + (1 << 20));
  EXPECT_TRUE(b == want);  // kept across the reallocation
  // A narrowed buffer appends after its window.
  BlockBuffer n = BlockBuffer::Copy("xxhelloyy");
  n.Narrow(2, 5);
  n.Append(" world");
  EXPECT_EQ(n.view(), "hello world");
}

TEST(BlockBuffer, MoveAssignReleasesTheOldBytes) {
  BlockBuffer a = BlockBuffer::Copy("first");
  BlockBuffer b = BlockBuffer::Copy(Pattern(5000, 2));
  const char* at = b.data();
  a = std::move(b);
  EXPECT_EQ(a.data(), at);
  EXPECT_EQ(a.size(), 5000u);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
  b.Append("reused");      // a moved-from buffer is an ordinary empty one
  EXPECT_EQ(b.view(), "reused");
}

TEST(BlockBuffer, PrintsItsSizeAndFirstBytes) {
  std::ostringstream os;
  os << BlockBuffer::Copy(std::string(40, 'z'));
  EXPECT_EQ(os.str(), "BlockBuffer(40 bytes: \"" + std::string(32, 'z') + "\"...)");
}

TEST(BlockBuffer, EnvReadErrorsReachTheCaller) {
  MemEnv mem;
  ASSERT_TRUE(mem.CreateDirs("/d").ok());
  ASSERT_TRUE(mem.WriteFileAtomic("/d/block", Pattern(3 << 20, 5)).ok());
  FaultyEnv env(&mem);
  auto good = env.ReadFileToBuffer("/d/block");
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(*good == Pattern(3 << 20, 5));
  env.AddRule({.op = FaultOp::kRead, .path_prefix = "/d/", .error = EIO});
  auto bad = env.ReadFileToBuffer("/d/block");
  EXPECT_EQ(bad.code(), Code::kIOError) << bad.status().ToString();
}

}  // namespace
}  // namespace strata
