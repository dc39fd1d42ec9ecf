#include "common/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

namespace strata {
namespace {

TEST(MetricsTest, RendersCountersAndGaugesExactly) {
  MetricsRegistry reg;
  Counter* gets = *reg.GetCounter("strata_object_requests_total", "Object store requests.",
                                  {{"op", "get"}, {"backend", "s3"}});
  Counter* puts = *reg.GetCounter("strata_object_requests_total", "ignored later help",
                                  {{"backend", "s3"}, {"op", "put"}});
  gets->Inc();
  gets->Inc(4);
  puts->Inc(2);
  // Same name and labels in another order: the same series.
  EXPECT_EQ(*reg.GetCounter("strata_object_requests_total", "", {{"op", "get"}, {"backend", "s3"}}),
            gets);
  Gauge* used = *reg.GetGauge("strata_cache_used_bytes", "Bytes in the disk cache.");
  used->Set(1048576);
  used->Add(-0.5);
  EXPECT_EQ(reg.Render(),
            "# HELP strata_cache_used_bytes Bytes in the disk cache.\n"
            "# TYPE strata_cache_used_bytes gauge\n"
            "strata_cache_used_bytes 1048575.5\n"
            "# HELP strata_object_requests_total Object store requests.\n"
            "# TYPE strata_object_requests_total counter\n"
            "strata_object_requests_total{backend=\"s3\",op=\"get\"} 5\n"
            "strata_object_requests_total{backend=\"s3\",op=\"put\"} 2\n");
}

TEST(MetricsTest, RendersHistogramsExactly) {
  MetricsRegistry reg;
  Histogram* h =
      *reg.GetHistogram("strata_op_seconds", "Latency.", {{"op", "read"}}, {0.001, 0.01, 0.1});
  h->Observe(0.0005);
  h->Observe(0.001);  // on a bound: counted in that bucket (le = less or equal)
  h->Observe(0.05);
  h->Observe(2);
  EXPECT_EQ(reg.Render(),
            "# HELP strata_op_seconds Latency.\n"
            "# TYPE strata_op_seconds histogram\n"
            "strata_op_seconds_bucket{op=\"read\",le=\"0.001\"} 2\n"
            "strata_op_seconds_bucket{op=\"read\",le=\"0.01\"} 2\n"
            "strata_op_seconds_bucket{op=\"read\",le=\"0.1\"} 3\n"
            "strata_op_seconds_bucket{op=\"read\",le=\"+Inf\"} 4\n"
            "strata_op_seconds_sum{op=\"read\"} 2.0515\n"
            "strata_op_seconds_count{op=\"read\"} 4\n");
}

TEST(MetricsTest, ConstantLabelsGoOnEverySeries) {
  MetricsRegistry reg;
  (*reg.GetCounter("c_total", "C.", {{"op", "get"}}))->Inc(3);
  (*reg.GetGauge("g", "G.", {{"volume", "own"}}))->Set(1);
  (*reg.GetHistogram("h_seconds", "H.", {}, {1}))->Observe(0.5);
  reg.SetConstLabels({{"volume", "v1"}, {"mount_point", "/mnt/a"}});
  EXPECT_EQ(reg.Render(),
            "# HELP c_total C.\n"
            "# TYPE c_total counter\n"
            "c_total{mount_point=\"/mnt/a\",op=\"get\",volume=\"v1\"} 3\n"
            "# HELP g G.\n"
            "# TYPE g gauge\n"
            "g{mount_point=\"/mnt/a\",volume=\"own\"} 1\n"  // its own label wins
            "# HELP h_seconds H.\n"
            "# TYPE h_seconds histogram\n"
            "h_seconds_bucket{mount_point=\"/mnt/a\",volume=\"v1\",le=\"1\"} 1\n"
            "h_seconds_bucket{mount_point=\"/mnt/a\",volume=\"v1\",le=\"+Inf\"} 1\n"
            "h_seconds_sum{mount_point=\"/mnt/a\",volume=\"v1\"} 0.5\n"
            "h_seconds_count{mount_point=\"/mnt/a\",volume=\"v1\"} 1\n");
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry reg;
  (*reg.GetCounter("c", "line1\nback\\slash", {{"path", "a\"b\\c\nd"}}))->Inc();
  EXPECT_EQ(reg.Render(),
            "# HELP c line1\\nback\\\\slash\n"
            "# TYPE c counter\n"
            "c{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsTest, RefusesBadNamesAndTypeClashes) {
  MetricsRegistry reg;
  EXPECT_EQ(reg.GetCounter("1bad", "").code(), Code::kInvalidArgument);
  EXPECT_EQ(reg.GetCounter("has-dash", "").code(), Code::kInvalidArgument);
  EXPECT_EQ(reg.GetCounter("ok", "", {{"bad-label", "x"}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(reg.GetCounter("ok", "", {{"a", "1"}, {"a", "2"}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(reg.GetHistogram("h", "", {{"le", "1"}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(reg.GetHistogram("h2", "", {}, {1, 1}).code(), Code::kInvalidArgument);
  EXPECT_EQ(reg.GetHistogram("h3", "", {}, {}).code(), Code::kInvalidArgument);
  ASSERT_TRUE(reg.GetCounter("x_total", "").ok());
  auto clash = reg.GetGauge("x_total", "");
  EXPECT_EQ(clash.code(), Code::kInvalidArgument);
  EXPECT_EQ(clash.status().message(), "metric 'x_total' is a counter, not a gauge");
  ASSERT_TRUE(reg.GetHistogram("lat", "", {}, {1, 2}).ok());
  EXPECT_EQ(reg.GetHistogram("lat", "", {{"a", "b"}}, {1, 3}).code(), Code::kInvalidArgument);
}

TEST(HistogramTest, QuantilesInterpolateWithinBuckets) {
  Histogram h({1, 2, 4, 8});
  EXPECT_TRUE(std::isnan(h.Quantile(0.5)));
  for (int i = 0; i < 100; i++) h.Observe(1.5);  // all in (1, 2]
  EXPECT_DOUBLE_EQ(h.Quantile(0.5), 1.5);
  EXPECT_DOUBLE_EQ(h.Quantile(0.99), 1.99);
  // 900 more in (4, 8]: the median moves there, p99 near its top.
  for (int i = 0; i < 900; i++) h.Observe(6);
  EXPECT_GT(h.Quantile(0.5), 4);
  EXPECT_LE(h.Quantile(0.5), 8);
  EXPECT_NEAR(h.Quantile(0.99), 4 + 4 * (990.0 - 100) / 900, 1e-9);
  EXPECT_DOUBLE_EQ(h.Quantile(0.05), 1.5);
  h.Observe(1000);  // above the last bound: reported as the last bound
  EXPECT_DOUBLE_EQ(h.Quantile(1.0), 8);
  EXPECT_EQ(h.count(), 1001u);
}

TEST(HistogramTest, LatencyBucketsAreRoundAndIncreasing) {
  std::vector<double> b = LatencyBuckets();
  ASSERT_FALSE(b.empty());
  EXPECT_DOUBLE_EQ(b.front(), 0.0001);
  EXPECT_DOUBLE_EQ(b.back(), 60);
  EXPECT_TRUE(std::adjacent_find(b.begin(), b.end(), std::greater_equal<>()) == b.end());
  MetricsRegistry reg;
  ASSERT_TRUE(reg.GetHistogram("l", "h").ok());
  std::string text = reg.Render();
  EXPECT_NE(text.find("l_bucket{le=\"0.00025\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("l_bucket{le=\"2.5\"} 0\n"), std::string::npos) << text;
}

TEST(HistogramTest, ScopedLatencyUsesTheClock) {
  FakeClock clock;
  Histogram h({0.001, 0.01, 0.1});
  {
    ScopedLatency t(&h, &clock);
    clock.Advance(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(h.BucketCounts(), (std::vector<uint64_t>{0, 1, 0, 0}));
  EXPECT_DOUBLE_EQ(h.sum(), 0.005);
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry reg;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; i++) {
        (*reg.GetCounter("n_total", "", {{"k", "v"}}))->Inc();
        (*reg.GetHistogram("h", "", {}, {1}))->Observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ((*reg.GetCounter("n_total", "", {{"k", "v"}}))->value(), 40000u);
  EXPECT_EQ((*reg.GetHistogram("h", "", {}, {1}))->count(), 40000u);
  EXPECT_DOUBLE_EQ((*reg.GetHistogram("h", "", {}, {1}))->sum(), 20000);
}

}  // namespace
}  // namespace strata
