#include "common/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>

namespace strata {
namespace {

std::string ReadAll(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  return out;
}

// The drawing thread runs on its own; wait (bounded) until it has drawn `n` times.
void WaitForDraws(const Progress& p, uint64_t n) {
  for (int i = 0; i < 5000 && p.draws() < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_GE(p.draws(), n);
}

TEST(ProgressTest, LineShowsCountersTotalsAndEta) {
  FakeClock clock;
  ProgressOptions o;
  o.mode = ProgressOptions::Mode::kQuiet;
  o.clock = &clock;
  Progress p("gc", o);
  auto* objects = p.AddCounter("objects", Progress::Unit::kCount, 400);
  auto* bytes = p.AddCounter("bytes", Progress::Unit::kBytes);
  p.SetStage("deleting");
  objects->Add(100);
  bytes->Add(3 << 20);
  clock.Advance(std::chrono::seconds(10));
  EXPECT_EQ(p.Line(), "gc deleting: objects 100/400 (25%) 10/s | bytes 3.00 MiB | 10 s, ETA 30 s");
  objects->Set(400);
  EXPECT_EQ(p.Line(), "gc deleting: objects 400/400 (100%) 40/s | bytes 3.00 MiB | 10 s");
}

TEST(ProgressTest, PlainModePrintsPeriodicLinesAndAFinalOne) {
  FakeClock clock;
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  ProgressOptions o;
  o.mode = ProgressOptions::Mode::kPlain;
  o.out = out;
  o.clock = &clock;
  o.plain_every = std::chrono::seconds(5);
  {
    Progress p("fsck", o);
    auto* n = p.AddCounter("inodes");
    n->Add(7);
    clock.WaitForSleepers(1);
    clock.Advance(std::chrono::seconds(5));  // one periodic line
    WaitForDraws(p, 1);
    n->Add(3);
    p.Finish();
    p.Finish();  // idempotent
  }
  std::string text = ReadAll(out);
  std::fclose(out);
  EXPECT_NE(text.find("fsck: inodes 7"), std::string::npos) << text;
  EXPECT_NE(text.find("fsck: inodes 10"), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << "no terminal control in plain mode";
  EXPECT_EQ(text.back(), '\n');
}

TEST(ProgressTest, TerminalModeRedrawsInPlaceWithABar) {
  FakeClock clock;
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  ProgressOptions o;
  o.mode = ProgressOptions::Mode::kTerminal;
  o.out = out;
  o.clock = &clock;
  {
    Progress p("load", o);
    auto* n = p.AddCounter("records", Progress::Unit::kCount, 10);
    n->Add(5);
    clock.WaitForSleepers(1);
    clock.Advance(o.redraw);
    WaitForDraws(p, 1);
    EXPECT_TRUE(p.terminal());
  }
  std::string text = ReadAll(out);
  std::fclose(out);
  EXPECT_NE(text.find("\r\033[K[############............] load: records 5/10 (50%)"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace strata

namespace strata {
namespace {

TEST(ProgressTest, AbandonLeavesNoFinalLine) {
  FakeClock clock;
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  ProgressOptions o;
  o.mode = ProgressOptions::Mode::kPlain;
  o.out = out;
  o.clock = &clock;
  {
    Progress p("gc", o);
    p.AddCounter("objects")->Add(3);
    p.Abandon();  // the tool failed: its own error line is the only one
    p.Finish();   // does nothing now
  }
  EXPECT_EQ(ReadAll(out), "");
  std::fclose(out);
}

}  // namespace
}  // namespace strata
