#include "common/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace common::metrics {
namespace {

// A sample value: integers without a decimal point, others with enough digits to round-trip.
std::string Number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", value);
  } else {
    std::snprintf(buf, sizeof buf, "%.15g", value);  // the shortest that reads back the same
    if (std::strtod(buf, nullptr) != value) std::snprintf(buf, sizeof buf, "%.17g", value);
  }
  return buf;
}

// Label values escape backslash, double quote and newline; help texts backslash and newline.
std::string Escape(const std::string& text, bool quote) {
  std::string out;
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string LabelText(const Labels& labels, const std::pair<std::string, std::string>* extra) {
  if (labels.empty() && extra == nullptr) return {};
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ',';
    out += name + "=\"" + Escape(value, true) + "\"";
  }
  if (extra != nullptr) {
    if (out.size() > 1) out += ',';
    out += extra->first + "=\"" + extra->second + "\"";
  }
  return out + "}";
}

void Head(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += "# HELP " + name + " " + Escape(help, false) + "\n";
  out += "# TYPE " + name + " " + type + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::Observe(double value) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);  // le: value <= bound
  counts_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::Buckets() const {
  std::vector<std::uint64_t> cumulative(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    cumulative[i] = total;
  }
  return cumulative;
}

Registry::Family& Registry::FamilyOf(const std::string& name, Type type, const std::string& help) {
  auto [it, created] = families_.try_emplace(name);
  if (created) {
    it->second.type = type;
    it->second.help = help;
  } else if (it->second.type != type) {
    std::fprintf(stderr, "fatal: metric %s registered as two types\n", name.c_str());
    std::abort();
  }
  return it->second;
}

Counter& Registry::GetCounter(const std::string& name, const std::string& help,
                              const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = FamilyOf(name, Type::kCounter, help).counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::GetGauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = FamilyOf(name, Type::kGauge, help).gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::GetHistogram(const std::string& name, const std::string& help,
                                  const std::vector<double>& bounds, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Family& family = FamilyOf(name, Type::kHistogram, help);
  if (family.histograms.empty()) family.bounds = bounds;
  auto& slot = family.histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(family.bounds);
  return *slot;
}

std::string Registry::Render(const std::vector<ComputedGauge>& computed) const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) {
    switch (family.type) {
      case Type::kCounter:
        Head(out, name, family.help, "counter");
        for (const auto& [labels, c] : family.counters)
          out += name + LabelText(labels, nullptr) + " " + Number(c->Value()) + "\n";
        break;
      case Type::kGauge:
        Head(out, name, family.help, "gauge");
        for (const auto& [labels, g] : family.gauges)
          out += name + LabelText(labels, nullptr) + " " + Number(g->Value()) + "\n";
        break;
      case Type::kHistogram:
        Head(out, name, family.help, "histogram");
        for (const auto& [labels, h] : family.histograms) {
          const std::vector<std::uint64_t> buckets = h->Buckets();
          for (std::size_t i = 0; i < buckets.size(); ++i) {
            const std::pair<std::string, std::string> le{
                "le", i < h->Bounds().size() ? Number(h->Bounds()[i]) : "+Inf"};
            out += name + "_bucket" + LabelText(labels, &le) + " " +
                   Number(static_cast<double>(buckets[i])) + "\n";
          }
          out += name + "_sum" + LabelText(labels, nullptr) + " " + Number(h->Sum()) + "\n";
          out += name + "_count" + LabelText(labels, nullptr) + " " +
                 Number(static_cast<double>(buckets.back())) + "\n";
        }
        break;
    }
  }
  for (const ComputedGauge& gauge : computed) {
    Head(out, gauge.name, gauge.help, "gauge");
    for (const GaugeSample& s : gauge.samples)
      out += gauge.name + LabelText(s.labels, nullptr) + " " + Number(s.value) + "\n";
  }
  return out;
}

Registry& Default() {
  static Registry* const registry = new Registry;  // never destroyed: used until exit
  return *registry;
}

std::vector<double> LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600};
}

}  // namespace common::metrics
