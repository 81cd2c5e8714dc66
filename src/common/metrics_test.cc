#include "common/metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace common::metrics {
namespace {

TEST(MetricsTest, CountersAndGaugesRenderInTheTextFormat) {
  Registry registry;
  registry.GetCounter("ci_things_total", "Things.", {{"kind", "a"}}).Add();
  registry.GetCounter("ci_things_total", "Things.", {{"kind", "a"}}).Add(2);
  registry.GetCounter("ci_things_total", "Things.", {{"kind", "b\"\\\n"}}).Add(0.5);
  registry.GetGauge("ci_open", "Open now.").Add(3);
  registry.GetGauge("ci_open", "Open now.").Add(-1);
  EXPECT_EQ(registry.Render({{"ci_computed", "Computed.", {{{{"pool", "p"}}, 7}}}}),
            "# HELP ci_open Open now.\n# TYPE ci_open gauge\nci_open 2\n"
            "# HELP ci_things_total Things.\n# TYPE ci_things_total counter\n"
            "ci_things_total{kind=\"a\"} 3\nci_things_total{kind=\"b\\\"\\\\\\n\"} 0.5\n"
            "# HELP ci_computed Computed.\n# TYPE ci_computed gauge\nci_computed{pool=\"p\"} 7\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithLessOrEqualBounds) {
  Registry registry;
  Histogram& h = registry.GetHistogram("ci_seconds", "Time.", {0.1, 1});
  for (const double v : {0.05, 0.1, 0.5, 5.0}) h.Observe(v);
  EXPECT_EQ(h.Buckets(), (std::vector<std::uint64_t>{2, 3, 4}));
  EXPECT_EQ(registry.Render(),
            "# HELP ci_seconds Time.\n# TYPE ci_seconds histogram\n"
            "ci_seconds_bucket{le=\"0.1\"} 2\nci_seconds_bucket{le=\"1\"} 3\n"
            "ci_seconds_bucket{le=\"+Inf\"} 4\nci_seconds_sum 5.65\n"
            "ci_seconds_count 4\n");
}

TEST(MetricsTest, UpdatesFromManyThreadsAreAllCounted) {
  Registry registry;
  Counter& counter = registry.GetCounter("ci_n_total", "N.");
  Histogram& histogram = registry.GetHistogram("ci_h", "H.", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.Add();
        histogram.Observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter.Value(), 40000);
  EXPECT_EQ(histogram.Buckets().back(), 40000u);
  EXPECT_EQ(&counter, &registry.GetCounter("ci_n_total", "N.")) << "found again, not made again";
}

}  // namespace
}  // namespace common::metrics
