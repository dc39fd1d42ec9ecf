#include "chunk/block_pool.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace strata::chunk {
namespace {

TEST(BlockPool, ReleasedBufferIsHandedToTheNextTake) {
  auto pool = std::move(*BlockPool::Open(64 << 10, 4));
  auto a = pool->Take();
  EXPECT_EQ(a->size(), 0u);
  EXPECT_EQ(a->capacity(), 64u << 10);
  a->Append(std::string(1000, 'x'));
  const char* storage = a->data();
  a.reset();  // back to the free list
  EXPECT_EQ(pool->stats().waiting, 1u);
  auto b = pool->Take();
  EXPECT_EQ(b->data(), storage);  // the same allocation, emptied
  EXPECT_EQ(b->size(), 0u);
  EXPECT_EQ(b->capacity(), 64u << 10);
  BlockPoolStats st = pool->stats();
  EXPECT_EQ(st.taken, 2u);
  EXPECT_EQ(st.reused, 1u);
  EXPECT_EQ(st.waiting, 0u);
}

TEST(BlockPool, KeepsAtMostMaxFreeAndTrimEmptiesIt) {
  auto pool = std::move(*BlockPool::Open(4096, 2));
  std::vector<std::shared_ptr<BlockBuffer>> out;
  for (int i = 0; i < 5; i++) out.push_back(pool->Take());
  out.clear();
  EXPECT_EQ(pool->stats().waiting, 2u);
  pool->Trim();
  EXPECT_EQ(pool->stats().waiting, 0u);
  EXPECT_EQ(pool->Take()->capacity(), 4096u);  // a new one after the trim
  EXPECT_EQ(pool->stats().reused, 0u);
}

TEST(BlockPool, BufferMayOutliveThePool) {
  std::shared_ptr<BlockBuffer> kept;
  {
    auto pool = std::move(*BlockPool::Open(4096, 2));
    kept = pool->Take();
    kept->Append("still here");
  }
  EXPECT_EQ(kept->view(), "still here");
  kept.reset();  // freed, not returned (ASan checks there is no use after free)
}

TEST(BlockPool, ConcurrentTakesAndReleases) {
  auto pool = std::move(*BlockPool::Open(4096, 3));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; i++) {
        auto b = pool->Take();
        ASSERT_EQ(b->size(), 0u);
        b->Append(std::string(16, static_cast<char>('a' + t)));
        ASSERT_EQ(b->view(), std::string(16, static_cast<char>('a' + t)));
      }
    });
  }
  for (auto& th : threads) th.join();
  BlockPoolStats st = pool->stats();
  EXPECT_EQ(st.taken, 8000u);
  EXPECT_LE(st.waiting, 3u);
  EXPECT_GT(st.reused, 0u);
}

TEST(BlockPool, RejectsZeroBlockSize) { EXPECT_FALSE(BlockPool::Open(0, 1).ok()); }

}  // namespace
}  // namespace strata::chunk
