// Process-wide counters, gauges and histograms for GET /metrics, rendered in the Prometheus
// text exposition format (version 0.0.4). The layers that see an event count it here (the
// pool its executions and kernel starts, the gateway its connections and bytes); the gateway
// renders them with the gauges it reads from the pool at scrape time.
// Thread-safe: updates are lock-free atomics on metrics found once (keep the reference: it
// stays valid for the process's life); lookups and Render take the registry's mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace common::metrics {

// Label name -> value; rendered in name order.
using Labels = std::map<std::string, std::string>;

class Counter {
 public:
  void Add(double amount = 1) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Cumulative buckets with the given upper bounds (ascending), plus +Inf, a sum and a count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // Cumulative counts per bound, then the +Inf bucket (= count).
  std::vector<std::uint64_t> Buckets() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& Bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, not cumulative
  std::atomic<double> sum_{0};
};

// A gauge whose samples are computed when rendered (from the pool's status), not kept.
struct GaugeSample {
  Labels labels;
  double value = 0;
};
struct ComputedGauge {
  std::string name;
  std::string help;
  std::vector<GaugeSample> samples;
};

class Registry {
 public:
  // The metric `name` with `labels`, created on first use. A name is one type with one help
  // text and (histograms) one set of bounds: asking for it as another type aborts.
  Counter& GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          const std::vector<double>& bounds, const Labels& labels = {});

  // Every metric, in name order; then `computed` gauges, each name with its samples.
  std::string Render(const std::vector<ComputedGauge>& computed = {}) const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type = Type::kCounter;
    std::string help;
    std::vector<double> bounds;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyOf(const std::string& name, Type type, const std::string& help);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;  // guarded by mutex_
};

// The registry of this process.
Registry& Default();

// Seconds buckets for latencies from a millisecond to ten minutes.
std::vector<double> LatencyBuckets();

}  // namespace common::metrics
