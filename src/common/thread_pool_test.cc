#include "common/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <stdexcept>

namespace strata {
namespace {

std::unique_ptr<ThreadPool> MakePool(int threads, size_t capacity) {
  auto pool = ThreadPool::Open({.name = "test", .threads = threads, .queue_capacity = capacity});
  EXPECT_TRUE(pool.ok()) << pool.status().ToString();
  return std::move(*pool);
}

// A gate that tasks wait on until the test opens it.
class Gate {
 public:
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST(ThreadPoolTest, RejectsBadOptions) {
  auto r = ThreadPool::Open({.name = "uploads", .threads = 0});
  EXPECT_EQ(r.code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("uploads"), std::string::npos);
  EXPECT_EQ(ThreadPool::Open({.queue_capacity = 0}).code(), Code::kInvalidArgument);
}

TEST(ThreadPoolTest, RunsEveryTaskAndReturnsResults) {
  auto pool = MakePool(3, 8);
  std::atomic<int> sum{0};
  for (int i = 1; i <= 100; i++) {
    ASSERT_TRUE(pool->Submit([&, i] { sum += i; }).ok());
  }
  auto f = pool->SubmitWithFuture([] { return std::string("done"); });
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->get(), "done");
  pool->Shutdown();
  EXPECT_EQ(sum.load(), 5050);
}

TEST(ThreadPoolTest, FutureCarriesTheTasksException) {
  auto pool = MakePool(1, 1);
  auto f = pool->SubmitWithFuture([]() -> int { throw std::runtime_error("boom"); });
  ASSERT_TRUE(f.ok());
  EXPECT_THROW(f->get(), std::runtime_error);
  EXPECT_EQ(pool->failed_tasks(), 0u);
}

TEST(ThreadPoolTest, PlainTaskExceptionIsCountedNotFatal) {
  auto pool = MakePool(1, 4);
  ASSERT_TRUE(pool->Submit([] { throw std::runtime_error("boom"); }).ok());
  auto after = pool->SubmitWithFuture([] { return 7; });
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->get(), 7);  // the worker survived
  EXPECT_EQ(pool->failed_tasks(), 1u);
}

TEST(ThreadPoolTest, TrySubmitFailsWhenFullAndSubmitBlocksUntilRoom) {
  auto pool = MakePool(1, 2);
  Gate gate;
  std::latch started(1);
  ASSERT_TRUE(pool->Submit([&] {
                    started.count_down();
                    gate.Wait();
                  })
                  .ok());
  started.wait();  // the only worker is now busy
  ASSERT_TRUE(pool->TrySubmit([] {}).ok());
  ASSERT_TRUE(pool->TrySubmit([] {}).ok());
  EXPECT_EQ(pool->queued(), 2u);
  Status full = pool->TrySubmit([] {});
  EXPECT_EQ(full.code(), Code::kBusy);
  EXPECT_NE(full.message().find("queue is full"), std::string::npos);

  // A blocking Submit waits for room: it cannot have returned while the gate is closed.
  std::atomic<bool> submitted{false};
  std::atomic<bool> ran{false};
  std::thread producer([&] {
    EXPECT_TRUE(pool->Submit([&] { ran = true; }).ok());
    submitted = true;
  });
  EXPECT_EQ(pool->queued(), 2u);  // still full; the producer is held back
  EXPECT_FALSE(submitted.load());
  gate.Open();
  producer.join();
  EXPECT_TRUE(submitted.load());
  pool->Shutdown();
  EXPECT_TRUE(ran.load());
}

TEST(ThreadPoolTest, ShutdownDrainsQueuedTasksThenRefuses) {
  auto pool = MakePool(2, 100);
  Gate gate;
  std::atomic<int> done{0};
  for (int i = 0; i < 50; i++) {
    ASSERT_TRUE(pool->Submit([&] {
                      gate.Wait();
                      done++;
                    })
                    .ok());
  }
  std::thread opener([&] { gate.Open(); });
  pool->Shutdown();  // returns only after all 50 ran
  opener.join();
  EXPECT_EQ(done.load(), 50);
  EXPECT_EQ(pool->Submit([] {}).code(), Code::kCancelled);
  EXPECT_EQ(pool->TrySubmit([] {}).code(), Code::kCancelled);
  EXPECT_EQ(pool->SubmitWithFuture([] { return 1; }).code(), Code::kCancelled);
  pool->Shutdown();  // idempotent
}

TEST(ThreadPoolTest, ShutdownWakesBlockedSubmitters) {
  auto pool = MakePool(1, 1);
  Gate gate;
  std::latch started(1);
  ASSERT_TRUE(pool->Submit([&] {
                    started.count_down();
                    gate.Wait();
                  })
                  .ok());
  started.wait();
  std::atomic<bool> queued_ran{false};
  ASSERT_TRUE(pool->Submit([&] { queued_ran = true; }).ok());  // the queue is now full
  Status blocked_status;
  std::thread blocked([&] { blocked_status = pool->Submit([] {}); });
  std::thread stopper([&] { pool->Shutdown(); });
  // The gate stays closed, so the queue never gets room: the blocked producer can only
  // return because Shutdown woke it.
  blocked.join();
  EXPECT_EQ(blocked_status.code(), Code::kCancelled);
  gate.Open();
  stopper.join();
  EXPECT_TRUE(queued_ran.load());  // accepted before shutdown, so it still ran
}

}  // namespace
}  // namespace strata
