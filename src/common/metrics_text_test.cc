#include "common/metrics_text.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/metrics.h"

namespace strata {
namespace {

TEST(MetricsTextTest, ReadsBackWhatTheRegistryRenders) {
  MetricsRegistry reg;
  (*reg.GetCounter("a_total", "A.", {{"op", "get"}}))->Inc(5);
  (*reg.GetCounter("a_total", "A.", {{"op", "put"}}))->Inc(2);
  (*reg.GetGauge("g", "G.", {{"path", "x\"y\\z\nw"}}))->Set(-1.5);
  (*reg.GetHistogram("h_seconds", "H.", {}, {0.1, 1}))->Observe(0.5);
  reg.SetConstLabels({{"volume", "v"}});
  auto samples = ParseMetricsText(reg.Render());
  ASSERT_TRUE(samples.ok()) << samples.status().ToString();
  MetricsSnapshot snap(*samples);
  EXPECT_EQ(snap.Sum("a_total"), 7);
  EXPECT_EQ(snap.Sum("a_total", {{"op", "put"}}), 2);
  EXPECT_EQ(snap.SumExcept("a_total", "op", "put"), 5);
  EXPECT_EQ(snap.Sum("g", {{"path", "x\"y\\z\nw"}, {"volume", "v"}}), -1.5);
  EXPECT_EQ(snap.Sum("h_seconds_count"), 1);
  EXPECT_EQ(snap.Sum("h_seconds_sum"), 0.5);
  EXPECT_EQ(snap.Sum("h_seconds_bucket", {{"le", "+Inf"}}), 1);
  EXPECT_FALSE(snap.Has("missing"));
}

TEST(MetricsTextTest, AcceptsTimestampsAndSpecialValues) {
  auto s = ParseMetricsText("# c\n\nx 1 1700000000000\ny NaN\nz +Inf\nw{a=\"1\",} 2\n");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->size(), 4u);
  EXPECT_EQ((*s)[0].value, 1);
  EXPECT_TRUE(std::isnan((*s)[1].value));
  EXPECT_TRUE(std::isinf((*s)[2].value));
  EXPECT_EQ((*s)[3].labels.at("a"), "1");
}

TEST(MetricsTextTest, RefusesMalformedLines) {
  EXPECT_FALSE(ParseMetricsText("x{a=1} 2\n").ok());
  EXPECT_FALSE(ParseMetricsText("x{a=\"1} 2\n").ok());
  EXPECT_FALSE(ParseMetricsText("x one\n").ok());
  EXPECT_FALSE(ParseMetricsText("{a=\"1\"} 2\n").ok());
}

}  // namespace
}  // namespace strata
