// Test helper shared by the staging tests: waits (real time, bounded: ~2,000 steps of 1 ms)
// until a StagingTier holds no block, advancing the fake clock 100 ms per step so that a
// dispatcher waiting on it (upload delay, back-off, the writers' idle window) moves on.
// Expects (gtest) that the tier ended empty. Test code only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "cache/staging_tier.h"
#include "common/clock.h"

namespace strata::chunk {

inline void DrainStaging(cache::StagingTier& t, FakeClock& clock) {
  for (int i = 0; i < 2000 && t.stats().blocks > 0; i++) {
    clock.Advance(std::chrono::milliseconds(100));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(t.stats().blocks, 0u);
}

}  // namespace strata::chunk
